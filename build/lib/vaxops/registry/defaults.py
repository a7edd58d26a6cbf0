"""Default priority groups (重点人群) from the seed's three phases; the county may edit them."""

PRIORITY_GROUPS: tuple[tuple[str, str, str, int], ...] = (
    ("cold_chain", "进口冷链物品从业人员", "Imported cold-chain workers", 1),
    ("port_customs", "口岸、海关、边检人员", "Port, customs and border staff", 1),
    ("medical", "医疗卫生人员", "Medical and health workers", 1),
    ("transport", "交通运输从业人员", "Public transport workers", 1),
    ("police", "公安、消防等人员", "Police and fire services", 1),
    ("community_worker", "社区工作者", "Community workers", 1),
    ("market", "农贸（集贸）市场从业人员", "Market workers", 1),
    ("utilities", "水电气热等城市运行保障人员", "Utility and city-operations workers", 1),
    ("overseas", "赴中高风险国家或地区人员", "Travellers to high-risk areas", 1),
    ("education", "教育工作者", "Teachers and school staff", 1),
    ("government", "机关事业单位人员", "Government and public-institution staff", 1),
    ("elderly_60", "60岁及以上老年人", "People aged 60 and over", 2),
    ("chronic", "慢性病患者", "People with chronic diseases", 2),
    ("general", "其他人群", "Everyone else", 3),
)


def priority_groups_ensure() -> int:
    """Create the default groups that are missing (never overwrites the county's edits); returns how many."""
    from .models import PriorityGroup

    existing = set(PriorityGroup.objects.values_list("code", flat=True))
    new = [
        PriorityGroup(code=code, name_zh=zh, name_en=en, phase=phase, sort=i)
        for i, (code, zh, en, phase) in enumerate(PRIORITY_GROUPS)
        if code not in existing
    ]
    PriorityGroup.objects.bulk_create(new)
    return len(new)
