"""Progress the artist can see without the editor stopping: a line in the level viewport and the
Output Log.

No modal window: a slow-task dialog is modal for as long as it is open (AddModalWindow with
bSlowTask), and the engine exposes no Python toast/progress bar except EditorUtilityTask, whose
StartExecutingTask sets GIsRunningUnattendedScript until it finishes (every dialog the artist opens
meanwhile would answer itself). Cancel is the menu's "Cancel Running Jobs".
"""
from __future__ import annotations

from dataclasses import dataclass, field

import unreal

#: seconds an on-screen line stays up without being refreshed; the monitors refresh it every step
SCREEN_SECONDS = 3.0
COLOR = (0.55, 0.85, 1.0, 1.0)


@dataclass
class Progress:
    """One job's (or a population's) progress: ``fraction`` 0..1 and the current message."""
    key: str  # one on-screen line per key (print_string replaces the line with the same key)
    title: str
    fraction: float = 0.0
    message: str = ""
    history: list[str] = field(default_factory=list)  # every distinct message, in order

    def update(self, fraction: float, message: str) -> None:
        self.fraction = max(self.fraction, min(1.0, fraction))  # never goes backwards
        if message != self.message:
            self.message = message
            self.history.append(message)
            unreal.log(f"MachCreator: {self.title}: {message}")
        self.show()

    def show(self, seconds: float = SCREEN_SECONDS) -> None:
        unreal.SystemLibrary.print_string(None, f"{self.title}: {round(100 * self.fraction)}%  {self.message}",
                                          print_to_screen=True, print_to_log=False,
                                          text_color=unreal.LinearColor(*COLOR), duration=seconds, key=self.key)

    def done(self, message: str) -> None:
        self.update(1.0, message)
        self.show(seconds=8.0)
