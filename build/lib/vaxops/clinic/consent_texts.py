"""The first version of the informed-consent text of each catalogue product (知情同意书), kept in the
database so the county can revise it (a new version with a later effective date) without a code change."""

import datetime

PRODUCTS = {
    "BBIBP-CorV": "新冠病毒灭活疫苗（Vero细胞）（北京生物）",
    "WIBP-CorV": "新冠病毒灭活疫苗（Vero细胞）（武汉生物）",
    "CoronaVac": "新冠病毒灭活疫苗（Vero细胞）（科兴中维）",
    "Convidecia": "重组新冠病毒疫苗（5型腺病毒载体）",
    "ZF2001": "重组新冠病毒蛋白疫苗（CHO细胞）",
}

TEXT = """{name}接种知情同意书

一、疫苗作用：接种本疫苗可刺激机体产生针对新型冠状病毒的免疫力，用于预防新型冠状病毒感染所致的疾病。
任何疫苗的保护效果都不能达到100%，少数人接种后仍可能发病。

二、接种禁忌：对疫苗的活性成分、任何一种非活性成分、生产工艺中使用的物质过敏者，或以前接种同类疫苗时出现过敏者；
既往发生过疫苗严重过敏反应者；患有未控制的癫痫和其他严重神经系统疾病者；正在发热者，或患急性疾病，
或慢性疾病的急性发作期，或未控制的严重慢性病患者；妊娠期妇女。请如实告知预检医生健康状况。

三、可能出现的不良反应：接种部位疼痛、红肿、硬结，发热、乏力、头痛等，一般无需处理，2～3天内可自行缓解；
极少数人可能出现过敏反应等严重不良反应。接种后须在接种点留观30分钟；回家后如有不适，请及时就医并报告接种单位。

四、本人已阅读并理解以上内容，如实提供了健康状况，自愿接种本疫苗。"""


def consent_texts_ensure() -> int:
    """Create the first version for every product that has none (run after every migrate); returns how many."""
    from .models import ConsentText

    made = 0
    for code, name in PRODUCTS.items():
        if not ConsentText.objects.filter(product_code=code).exists():
            ConsentText.objects.create(
                product_code=code,
                version="2021.1",
                effective_from=datetime.date(2021, 1, 1),
                title=f"{name}接种知情同意书",
                text=TEXT.format(name=name),
            )
            made += 1
    return made
