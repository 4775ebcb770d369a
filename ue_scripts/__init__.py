"""Editor scripts: import a character package into Unreal, build its materials, import and bind
its grooms, bind the face rig (MetaHuman where the engine allows, ARKit morphs otherwise) and
populate a level (the paper's assembly in Unreal, §2.5). They run inside the editor's Python and
use only the ``unreal`` API, the standard library and :mod:`machcreator.client`."""
