"""Roles of DESIGN.md §1 as permission groups, kept true by roles_sync."""

import pytest
from django.contrib.auth.models import Group, Permission

from vaxops.accounts.roles import ROLE_BY_CODE, ROLES
from vaxops.accounts.services import roles_sync, user_create
from vaxops.audit.models import AuditEvent
from vaxops.conftest import PASSWORD


@pytest.fixture(autouse=True)
def _fast_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def perms_of(group: Group) -> set[str]:
    return {
        f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")
    }


class TestRolesSync:
    def test_it_created_one_group_per_role_with_its_permissions(self, db):
        for role in ROLES:
            group = Group.objects.get(name=role.code)
            assert perms_of(group) == set(role.permissions), role.code

    def test_it_knows_every_listed_permission(self, db):
        for role in ROLES:
            for dotted in role.permissions:
                app_label, codename = dotted.split(".")
                assert Permission.objects.filter(
                    content_type__app_label=app_label, codename=codename
                ).exists(), dotted

    def test_it_restores_a_group_edited_by_hand(self, db):
        group = Group.objects.get(name="leader")
        group.permissions.add(Permission.objects.get(codename="reveal_identity"))
        Group.objects.get(name="auditor").permissions.clear()

        roles_sync()

        assert perms_of(Group.objects.get(name="leader")) == set(ROLE_BY_CODE["leader"].permissions)
        assert "registry.reveal_identity" not in perms_of(Group.objects.get(name="leader"))
        assert "audit.view_auditevent" in perms_of(Group.objects.get(name="auditor"))
        assert Group.objects.filter(name__in=[r.code for r in ROLES]).count() == len(ROLES)

    def test_it_gives_the_role_permissions_to_users(self, worker_a, leader, auditor, vaccinator):
        assert worker_a.has_perm("registry.reveal_identity")
        assert not worker_a.has_perm("audit.view_auditevent")
        assert leader.has_perm("registry.view_statistics")
        assert not leader.has_perm("registry.view_resident")
        assert auditor.has_perm("audit.view_auditevent")
        assert not auditor.has_perm("registry.change_resident")
        assert vaccinator.has_perm("registry.view_resident")
        assert not vaccinator.has_perm("registry.reveal_identity")


class TestUserCreate:
    def test_it_joins_the_role_group_and_audits(self, cdc, county):
        user = user_create(
            username="nurse", password=PASSWORD, role="site_screening", division=county, actor=cdc
        )

        assert list(user.groups.values_list("name", flat=True)) == ["site_screening"]
        event = AuditEvent.objects.get(action="user.create", object_id=str(user.pk))
        assert event.actor == cdc
        assert event.new["role"] == "site_screening"
        assert PASSWORD not in str(event.new)

    def test_it_refuses_an_unknown_role(self, county):
        with pytest.raises(ValueError, match="未知角色"):
            user_create(username="x", password=PASSWORD, role="emperor", division=county)
