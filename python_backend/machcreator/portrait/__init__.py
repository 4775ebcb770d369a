"""Text → portrait: Stable Diffusion + ControlNet painted from attribute clues (Mach §2.1)."""
