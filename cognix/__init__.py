"""cognix: build Replicate Cog models into reproducible OCI images with Nix."""

__version__ = "0.1.0"
