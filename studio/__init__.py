"""Latent Studio: local image generation and inpainting with latent diffusion models."""

__version__ = "0.1.0"
