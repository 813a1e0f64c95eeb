"""Putting a stored recipe's values into the controls, and saying which could not be taken as they were.

A recipe from a file may hold values beyond what a control allows (A1111 takes 150 steps, another tool more):
such a value is set to the nearest allowed one and named in the notice, never clamped silently.
"""

from PySide6.QtWidgets import QDoubleSpinBox, QSpinBox

# Recipe field names as the controls call them.
_LABELS = {
    "prompt": "Prompt", "negative_prompt": "Negative prompt", "seed": "Seed", "steps": "Steps",
    "cfg_scale": "CFG scale", "width": "Width", "height": "Height", "sampler": "Sampler", "scheduler": "Sampler",
    "strength": "Strength", "mask_feather": "Mask feather", "batch_size": "Batch size",
}


def set_within(spin: QSpinBox | QDoubleSpinBox, value: float, label: str, adjusted: list[str]) -> None:
    """Set ``value``, or the nearest value ``spin`` allows, noting ``label`` in ``adjusted`` when it differs.

    Clamped here, before Qt sees it: a QSpinBox refuses Python ints beyond 32 bits with an OverflowError.
    """
    allowed = min(max(value, spin.minimum()), spin.maximum())
    if allowed != value:
        shown = int(allowed) if isinstance(spin, QSpinBox) or spin.decimals() == 0 else allowed
        adjusted.append(f"{label} {_shown(value)} (set to {_shown(shown)})")
    spin.setValue(int(allowed) if isinstance(spin, QSpinBox) else float(allowed))


def _shown(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def restore_notice(skipped: tuple[str, ...], adjusted: list[str]) -> str | None:
    """One sentence about what a restore could not take as stored, or None when it took everything."""
    parts = []
    if skipped:
        names = ", ".join(dict.fromkeys(_LABELS.get(name, name.replace("_", " ")) for name in skipped))
        parts.append(f"unusable values were left out ({names})")
    if adjusted:
        parts.append(f"values outside the controls' ranges were changed: {'; '.join(adjusted)}")
    return f"Restored the prompt and settings, but {' and '.join(parts)}." if parts else None
