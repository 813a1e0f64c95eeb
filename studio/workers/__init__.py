"""The engine's thread: a QObject worker living in one dedicated QThread (QtCore and QImage only, no widgets)."""
