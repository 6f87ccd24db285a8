"""Triton kernels for the fixed-point networks that choose lic's probability tables.

The hyper-synthesis and the channel/checkerboard context networks run in fixed point
(``bitstream-spec.md`` section 3.1, :mod:`lic.models.fixed_point`); with ``LIC_KERNELS=1`` these
kernels compute them in place of torch's float64 convolutions:

* :mod:`lic.kernels.conv`: a convolution (plain, transposed or checkerboard-masked, any
  stride and zero padding) with the round-half-up rescale, the ReLU and the clamp fused;
* :mod:`lic.kernels.rows`: a 1x1 convolution on feature vectors (the parameter
  aggregation networks), with the same rescale and clamp, and optionally the choice of the
  Gaussian table from the scales it outputs (the first scale-table entry >= the scale).

**Exactness.** Activations, weights and biases are int64 and every product is summed in an
int64 accumulator: integer addition is associative, so any order, block shape, thread
layout or device gives the same sum, by construction and not by a rounding argument. The
accumulator cannot wrap: :func:`lic.models.fixed_point.check_exact` refuses any weights for
which ``sum |weight| * 2**24 + |bias| + 2**13`` could reach ``2**53``, far below int64's
``2**63``. The rescale ``floor((acc + 2**13) / 2**14)`` is the arithmetic shift
``(acc + 2**13) >> 14`` (floor also for negative sums). int64 rather than float64 holding
integers was chosen so that exactness does not depend on how a compiler contracts or
reorders floating-point operations (fused multiply-adds, tensor-core paths): there is no
rounding anywhere to reason about. The torch path holds the same integers in float64,
exact there because of the same ``2**53`` bound, so both paths give equal outputs; the
tests in ``tests/test_kernels.py`` check that under the Triton interpreter.

Selection (:mod:`lic.kernels.selection`): used only with ``LIC_KERNELS=1`` (on the CPU also
``TRITON_INTERPRET=1``: the tests and ``benchmarks/gpu_check.py --dry-run``), since on an H200
they decoded slower than the torch path (docs/speed.md). The bytes of a stream never depend
on the choice. This package imports only torch, triton and :mod:`lic.errors` (it sits
below :mod:`lic.models`), and imports triton only when a kernel is first used.
"""
