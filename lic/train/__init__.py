"""Training of lic models: ``lic train --config FILE.toml``."""
