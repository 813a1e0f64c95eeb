"""An image prompt (IP-Adapter): an image that prompts the model as text does, through an adapter and the CLIP
vision encoder it was trained with, at a strength (diffusers' ``set_ip_adapter_scale``).

In a recipe the image itself is not in the record: ``image_key`` names it in the control image store
(:mod:`studio.core.control_store`), as for control layers. ``parameters`` carries ``IP-Adapter: NAME`` and
``IP-Adapter scale: S``; A1111's ControlNet extension writes an IP-Adapter as a ControlNet unit whose module is
``ip-adapter_*``, which is read back as an image prompt too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image

from studio.core.errors import StudioError

MAX_SCALE = 2.0
ADAPTER_KEY, SCALE_KEY = "IP-Adapter", "IP-Adapter scale"


@dataclass(frozen=True)
class ImagePrompt:
    adapter: str  # a name in the ipadapter model folders, or a path
    image: Image.Image | None = field(default=None, compare=False, repr=False)
    scale: float = 1.0
    image_key: str = ""  # the image in the store (recipes); "" in a request, which holds the image

    def validate(self) -> None:
        """Raise :class:`StudioError` with one sentence for the first thing that cannot work."""
        if not self.adapter.strip():
            raise StudioError("The image prompt has no IP-Adapter; choose one from the ipadapter folder.")
        if self.image is None:
            raise StudioError("The image prompt has no image.")
        if not 0 <= self.scale <= MAX_SCALE:
            raise StudioError(f"The image prompt's scale must be between 0 and {MAX_SCALE:g} (got {self.scale:g}).")


def image_prompt_fields(prompt: ImagePrompt) -> dict[str, str]:
    """The ``parameters`` fields of an image prompt."""
    scale = prompt.scale
    return {ADAPTER_KEY: prompt.adapter, SCALE_KEY: str(int(scale)) if float(scale).is_integer() else f"{scale:g}"}


def image_prompt_from(fields: dict[str, str], units: list[dict[str, object]]) -> dict[str, object] | None:
    """The recipe value of the image prompt in ``parameters`` fields, or in A1111's ControlNet ``units`` (parsed:
    see :func:`studio.core.control.parse_control`); None when there is none."""
    if ADAPTER_KEY in fields:
        data: dict[str, object] = {"adapter": fields[ADAPTER_KEY]}
        try:
            data["scale"] = float(fields.get(SCALE_KEY, "1"))
        except ValueError:
            pass
        return data
    unit = next((u for u in units if is_ip_adapter_unit(u)), None)
    if unit is None:
        return None
    return {"adapter": unit.get("model", ""), **({"scale": unit["weight"]} if "weight" in unit else {})}


def is_ip_adapter_unit(unit: dict[str, object]) -> bool:
    """A parsed ControlNet unit that A1111 wrote for an IP-Adapter (its module is ``ip-adapter_*``)."""
    return str(unit.get("preprocessor", "")).lower().startswith("ip-adapter")
