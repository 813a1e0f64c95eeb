"""Stable scheduler names, and the sampler labels AUTOMATIC1111-style metadata uses for them."""

# Our name -> the label written into (and read from) the A1111 ``parameters`` text.
SAMPLER_LABELS: dict[str, str] = {
    "euler": "Euler",
    "euler_a": "Euler a",
    "dpmpp_2m": "DPM++ 2M",
    "dpmpp_2m_karras": "DPM++ 2M Karras",
    "ddim": "DDIM",
    "unipc": "UniPC",
    "lcm": "LCM",
    # "Trailing" timestep spacing (the last step starts from pure noise): what few-step models are distilled
    # for (SDXL-Turbo, SDXL-Lightning, Hyper-SD); A1111 and ComfyUI call the nearest schedule "SGM Uniform".
    "euler_trailing": "Euler Trailing",
    "euler_a_trailing": "Euler a Trailing",
    "ddim_trailing": "DDIM Trailing",
}

SCHEDULER_NAMES: tuple[str, ...] = tuple(SAMPLER_LABELS)


def sampler_label(name: str) -> str:
    """The A1111 label for one of our names; a model's own scheduler keeps its own label."""
    return SAMPLER_LABELS.get(name, name)


def scheduler_from_label(label: str) -> str | None:
    """Our name for an A1111 sampler label, or None when we have no equivalent."""
    for name, known in SAMPLER_LABELS.items():
        if known.lower() == label.strip().lower():
            return name
    return None
