"""The fake editor's materials: material graphs built by MaterialEditingLibrary, instances and
their parameters."""
from __future__ import annotations

from fake_unreal import FakeEditor, FakeObject


def _is(obj, class_name: str, editor: FakeEditor) -> bool:
    return isinstance(obj, FakeObject) and any(s.name == class_name for s in editor.api.mro(obj._spec_name))


def install_materials(editor: FakeEditor) -> None:
    h = editor.handle

    def graph(material):
        return material._data.setdefault("graph", {"expressions": [], "properties": {}, "links": []})

    @h("MaterialEditingLibrary", "create_material_expression")
    def _expression(cls, material, expression_class, node_pos_x=0, node_pos_y=0):
        node = editor.new(expression_class._spec_name)
        graph(material)["expressions"].append(node)
        return node

    @h("MaterialEditingLibrary", "delete_all_material_expressions")
    def _clear(cls, material):
        material._data["graph"] = {"expressions": [], "properties": {}, "links": []}

    @h("MaterialEditingLibrary", "connect_material_property")
    def _connect_property(cls, from_expression, from_output_name, property_):
        graph_of = next(m for m in editor.assets.values() if from_expression in m._data.get("graph", {}).get("expressions", []))
        graph(graph_of)["properties"][property_.name] = (from_expression, from_output_name)
        return True

    @h("MaterialEditingLibrary", "connect_material_expressions")
    def _connect(cls, from_expression, from_output_name, to_expression, to_input_name):
        graph_of = next(m for m in editor.assets.values() if from_expression in m._data.get("graph", {}).get("expressions", []))
        graph(graph_of)["links"].append((from_expression, from_output_name, to_expression, to_input_name))
        return True

    @h("MaterialEditingLibrary", "set_material_instance_parent")
    def _parent(cls, instance, new_parent):
        instance._props["parent"] = new_parent

    def parameter(instance, name: str, expression_class: str):
        parent = instance._props.get("parent")
        expressions = graph(parent)["expressions"] if parent is not None else []
        return any(_is(e, expression_class, editor) and e._props.get("parameter_name") == str(name) for e in expressions)

    def setter(kind: str, expression_class: str):
        def set_value(cls, instance, parameter_name, value, association=None):
            if not parameter(instance, parameter_name, expression_class):
                return False
            instance._data.setdefault(kind, {})[str(parameter_name)] = value
            return True
        return set_value

    h("MaterialEditingLibrary", "set_material_instance_texture_parameter_value")(
        setter("textures", "MaterialExpressionTextureSampleParameter2D"))
    h("MaterialEditingLibrary", "set_material_instance_scalar_parameter_value")(
        setter("scalars", "MaterialExpressionScalarParameter"))
    h("MaterialEditingLibrary", "set_material_instance_vector_parameter_value")(
        setter("vectors", "MaterialExpressionVectorParameter"))
