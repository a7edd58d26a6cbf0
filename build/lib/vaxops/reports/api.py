"""/api/v1/reports: the same numbers as the pages and ``vaxops report``, scoped like every read."""

from datetime import date
from typing import Annotated

from ninja import Router, Schema
from pydantic import Field

from vaxops.accounts.scope import require, scope_for
from vaxops.core import clock
from vaxops.core.schemas import Day, ErrorOut

from .dashboard import dashboard_data
from .selectors import daily_report

router = Router(tags=["reports"])


class DailyRowOut(Schema):
    division: str = Field(description="区划代码（12位）")
    name: str
    doses_today: int = Field(description="当日接种剂次（未作废）")
    doses_cumulative: int = Field(description="截至当日累计接种剂次")
    people_first_dose_today: int = Field(description="当日首剂人数（首次接种的人）")
    people_first_dose_cumulative: int = Field(description="累计首剂人数")
    people_60_plus_first_dose_cumulative: int = Field(description="60岁及以上累计首剂人数")
    booster_doses_cumulative: int = Field(description="累计加强剂次")
    population: int | None = Field(description="户籍人口（当年或之前最近一年）")
    coverage_first_dose: str | None = Field(description="首剂覆盖率（累计首剂人数 ÷ 户籍人口）")
    population_60_plus: int | None
    coverage_60_plus_first_dose: str | None
    dose1_today: int = Field(description="当日第1剂剂次")
    dose2_today: int = Field(description="当日第2剂剂次")
    dose3_today: int = Field(description="当日第3剂剂次")
    booster_doses_today: int = Field(description="当日加强免疫剂次")
    dose1_cumulative: int = Field(description="累计第1剂剂次")
    dose2_cumulative: int = Field(description="累计第2剂剂次")
    dose3_cumulative: int = Field(description="累计第3剂剂次")
    people_completed_today: int = Field(description="当日完成全程接种人数")
    people_completed_cumulative: int = Field(description="累计完成全程接种人数")
    people_booster_today: int = Field(description="当日首次加强免疫人数")
    people_booster_cumulative: int = Field(description="累计加强免疫人数")
    people_60_plus_completed_cumulative: int = Field(description="60岁及以上累计全程接种人数")
    stock_on_hand: int = Field(description="本乡镇各库存地点现有库存（剂）")
    adverse_events_today: int = Field(description="当日报告疑似预防接种异常反应（例）")
    coverage_completed: str | None = Field(description="全程接种率（累计全程人数 ÷ 户籍人口）")
    coverage_booster: str | None = Field(description="加强免疫率（累计加强人数 ÷ 户籍人口）")
    coverage_60_plus_completed: str | None
    target_people: int | None = Field(description="已开始阶段的目标人数之和")
    target_doses: int | None = Field(description="已开始阶段的目标剂次之和")
    coverage_target_people: str | None = Field(description="目标人数完成率（累计首剂人数 ÷ 目标人数）")
    coverage_target_doses: str | None = Field(description="目标剂次完成率（累计剂次 ÷ 目标剂次）")


class DailyOut(Schema):
    date: date
    division: str
    name: str
    rows: list[DailyRowOut]
    total: DailyRowOut


@router.get(
    "/daily",
    response={200: DailyOut, 403: ErrorOut, 404: ErrorOut},
    summary="日报表 / daily report by township",
)
def daily(
    request, date: Day, division: Annotated[str, Field(max_length=12, pattern=r"^\d{6,12}$")] | None = None
):
    """Doses and people of the day and to date per township of the county (or of one township)."""
    require(request.user, "reports.view_population")
    return daily_report(scope=scope_for(request.user), day=date, division_code=division)


class DashboardOut(Schema):
    date: date
    division: str = Field(description="区划代码（县或乡镇）")
    name: str
    level: int = Field(description="区划级别：3 县，4 乡镇")
    series: dict = Field(
        description="每日（或每周）接种剂次：points 各点日期，dose1/dose2/dose3/booster 各剂次，quota 计划任务量"
    )
    by_division: list[dict] = Field(description="各乡镇（或各村）覆盖率")
    by_band: list[dict] = Field(description="分年龄段覆盖率")
    by_group: list[dict] = Field(description="分人群覆盖率")
    funnel: list[dict] = Field(description="第1剂 → 全程 → 加强")
    stock: list[dict] = Field(description="各库存地点可用天数")
    late: list[dict] = Field(description="今日逾期未报的乡镇")
    alerts: dict = Field(description="未处理的预警")
    totals: dict = Field(description="累计情况（接种点、人员、人数、剂次、严重不良反应）")


@router.get(
    "/dashboard",
    response={200: DashboardOut, 403: ErrorOut, 404: ErrorOut},
    summary="接种进度看板 / the leaders' dashboard",
)
def dashboard(
    request,
    date: Day | None = None,
    division: Annotated[str, Field(max_length=12, pattern=r"^\d{6,12}$")] | None = None,
    start: Day | None = None,
):
    """The dashboard's figures for the county (or one township) as of a day (today by default)."""
    require(request.user, "reports.view_dashboard")
    return dashboard_data(
        scope=scope_for(request.user), day=date or clock.today(), division_code=division, start=start
    )
