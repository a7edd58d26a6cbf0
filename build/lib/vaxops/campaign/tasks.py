def status_refresh_task(resident_ids: list[int]) -> int:
    from .services import status_refresh

    return status_refresh(resident_ids=resident_ids)


def status_refresh_all_task() -> int:
    from .services import status_refresh_all

    return status_refresh_all()
