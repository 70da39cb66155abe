"""bsp-lightning: Boundary-Sensitive Pre-training on PyTorch Lightning."""

__version__ = "0.1.0"
