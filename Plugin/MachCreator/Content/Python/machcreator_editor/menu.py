"""The MachCreator menu in the level editor's main menu bar."""
from __future__ import annotations

import unreal

OWNER = "MachCreator"
SECTION = "MachCreator"
ENTRIES = (
    ("MachCreator.Generate", "Generate Character…", "Type a prompt, tweak attributes, get a character",
     "generate_character"),
    ("MachCreator.Edit", "Edit Selected Character…", "Change the selected character's attributes; only "
     "the stages they feed re-run", "edit_selected_character"),
    ("MachCreator.Populate", "Populate Level…", "Place many distinct characters on a grid, a spline or "
     "target points", "populate_level"),
    ("MachCreator.LiveLink", "Drive with Live Link Face…", "Animate the selected character's face from the "
     "Live Link Face app (ARKit) in the editor viewport", "drive_with_live_link"),
    ("MachCreator.Cancel", "Cancel Running Jobs", "Stop every generation, edit and population this editor "
     "is following (the editor stays usable while they run; their progress is in the viewport and Output Log)",
     "cancel_running_jobs"),
    ("MachCreator.Backend", "Backend…", "Where the generator runs (local or remote) and import options",
     "backend_settings"),
)


def register() -> object:
    menus = unreal.ToolMenus.get()
    main = menus.find_menu("LevelEditor.MainMenu")
    if main is None:
        raise RuntimeError("the level editor's main menu is not there (is this a commandlet?)")
    sub = main.add_sub_menu(OWNER, "", "MachCreator", "MachCreator", "Text-to-3D characters")
    sub.add_section(SECTION, "Characters")
    for name, label, tip, command in ENTRIES:
        entry = unreal.ToolMenuEntry(name=name, type=unreal.MultiBlockType.MENU_ENTRY)
        entry.set_label(label)
        entry.set_tool_tip(tip)
        entry.set_string_command(unreal.ToolMenuStringCommandType.PYTHON, "",
                                 f"from machcreator_editor import commands; commands.{command}()")
        sub.add_menu_entry(SECTION, entry)
    menus.refresh_all_widgets()
    return sub
