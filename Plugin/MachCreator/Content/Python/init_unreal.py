"""Runs when the editor starts (Content/Python of an enabled plugin): adds the MachCreator menu."""
import unreal

try:
    from machcreator_editor import menu

    menu.register()
except Exception as exc:  # a broken install must not stop the editor from starting
    unreal.log_error(f"MachCreator: the menu could not be registered: {type(exc).__name__}: {exc}")
