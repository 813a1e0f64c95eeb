"""Widgets. They bind to the session; they never import torch, diffusers or the engine."""
