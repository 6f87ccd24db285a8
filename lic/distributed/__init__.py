"""lic's per-file jobs on a Ray cluster (the optional extra ``lic[ray]``).

* :mod:`lic.distributed.runtime`: importing Ray, starting a local runtime or joining a
  cluster, running tasks with a bounded number in flight.
* :mod:`lic.distributed.folders`: ``lic encode|decode DIR -o OUT --ray``.
* :mod:`lic.distributed.rd`: ``lic eval ... --ray``, one task per (image, quality).
* :mod:`lic.distributed.datasets`: Ray Data datasets of images to ``.lic`` bytes and back.

See docs/distributed.md.
"""
