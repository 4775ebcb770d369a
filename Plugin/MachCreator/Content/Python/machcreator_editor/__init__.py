"""MachCreator inside the Unreal Editor: the menu, the details-panel requests, the backend
connection and the job monitor. It talks to ``mach serve`` through :mod:`machcreator.client` and
imports what comes back with :mod:`ue_scripts`."""
