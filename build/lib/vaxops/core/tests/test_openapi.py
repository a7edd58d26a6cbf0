"""The OpenAPI document tells the truth: one schema per name, and each operation documents the body its
endpoint reads (django-ninja files schemas by class name, so two classes of one name silently become one
and an endpoint can document another's body)."""

import enum
import re
import types
import typing

import pytest
from pydantic import BaseModel

from vaxops.api import api


@pytest.fixture(scope="module")
def spec():
    return api.get_openapi_schema()


def _operations():
    """(method, OpenAPI path, ninja operation) for every operation of the API."""
    api.get_openapi_schema()  # binds the routers
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            documented = "/api/v1" + prefix + re.sub(r"{\w+:(\w+)}", r"{\1}", path)
            for operation in path_view.operations:
                for method in operation.methods:
                    yield method.lower(), documented, operation


def _walk(annotation, found: dict[str, set[type]]) -> None:
    """Every model and enum an annotation reaches, by the name the document files it under."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        name = annotation.__name__
        if annotation in found.get(name, set()):
            return
        found.setdefault(name, set()).add(annotation)
        for field in annotation.model_fields.values():
            _walk(field.annotation, found)
        return
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        found.setdefault(annotation.__name__, set()).add(annotation)
        return
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        for arg in typing.get_args(annotation):
            _walk(arg, found)


def _used_schemas() -> dict[str, set[type]]:
    found: dict[str, set[type]] = {}
    for _method, _path, operation in _operations():
        answers = [m for m in operation.response_models.values() if hasattr(m, "model_fields")]
        wrappers = list(operation.models) + answers
        for wrapper in wrappers:  # ninja's own parameter and response wrappers are not filed by name
            for field in wrapper.model_fields.values():
                _walk(field.annotation, found)
    return found


def _body_model(operation) -> type[BaseModel] | None:
    for model in operation.models:
        if model.__ninja_param_source__ == "body":
            (field,) = model.model_fields.values()
            models = [
                a for a in (field.annotation, *typing.get_args(field.annotation)) if isinstance(a, type)
            ]
            return next(m for m in models if issubclass(m, BaseModel))
    return None


class TestSchemaNames:
    def test_no_two_schemas_share_a_name(self):
        shared = {
            name: sorted(f"{c.__module__}.{c.__qualname__}" for c in classes)
            for name, classes in _used_schemas().items()
            if len(classes) > 1
        }
        assert shared == {}

    def test_every_schema_used_is_in_the_document(self, spec):
        assert set(_used_schemas()) <= set(spec["components"]["schemas"])


class TestDocumentedBodies:
    def test_each_operation_documents_the_body_its_endpoint_reads(self, spec):
        checked = 0
        for method, path, operation in _operations():
            model = _body_model(operation)
            if model is None:
                continue
            content = spec["paths"][path][method]["requestBody"]["content"]["application/json"]
            # a model, an optional model (anyOf) or a list of models (a batch: items)
            ref = (
                content["schema"].get("$ref")
                or content["schema"].get("items", {}).get("$ref")
                or next(s["$ref"] for s in content["schema"]["anyOf"] if "$ref" in s)
            )
            name = ref.rsplit("/", 1)[1]
            assert name == model.__name__, (method, path)
            documented = set(spec["components"]["schemas"][name].get("properties", {}))
            read = {f.alias or n for n, f in model.model_fields.items()}
            assert documented == read, (method, path)
            checked += 1
        assert checked >= 30

    def test_the_self_booking_verify_documents_the_code_not_a_certificate(self, spec):
        body = spec["paths"]["/api/v1/booking/self/verify"]["post"]["requestBody"]
        name = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        assert set(spec["components"]["schemas"][name]["properties"]) == {"id_number", "phone", "code"}

    def test_the_certificate_verifier_documents_the_hc1_body(self, spec):
        body = spec["paths"]["/api/v1/certs/verify"]["post"]["requestBody"]
        name = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        assert set(spec["components"]["schemas"][name]["properties"]) == {"hc1", "at"}

    def test_the_bounds_are_documented(self, spec):
        schemas = spec["components"]["schemas"]
        assert schemas["AllocationIn"]["properties"]["doses_arriving"]["maximum"] == 2**31 - 1
        assert schemas["AssignmentIn"]["properties"]["role"] == {"$ref": "#/components/schemas/StaffRole"}
        assert set(schemas["StaffRole"]["enum"]) == {
            "screening",
            "registration",
            "vaccination",
            "observation",
            "rescue",
        }


class TestErrorCodes:
    def test_the_error_answer_lists_every_code(self, spec):
        from vaxops.core.errors import error_codes

        code = spec["components"]["schemas"]["ErrorOut"]["properties"]["code"]
        assert code["type"] == "string" and "code" in code["description"]
        assert code["enum"] == error_codes()
        # a code of each kind: core's, an app's, one kept from before, the desk's hard stops
        assert {"role_forbidden", "lot_not_found", "slot_full", "duplicate", "code_used"} <= set(code["enum"])

    def test_every_refusal_answers_with_the_error_answer(self, spec):
        for path, methods in spec["paths"].items():
            for method, operation in methods.items():
                for status, answer in operation["responses"].items():
                    if str(status).startswith("4") and "content" in answer:
                        ref = answer["content"]["application/json"]["schema"].get("$ref", "")
                        assert ref.endswith("/ErrorOut"), (method, path, status, ref)
