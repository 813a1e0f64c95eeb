"""Plain-Python heart of the app: requests, recipes, metadata, mask maths, files. No Qt, no torch."""
