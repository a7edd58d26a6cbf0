"""Vaccines by the short Chinese names nurses know: the catalogue's products carry them (migration
0005_short_names and the defaults), and every page reads them through one look-up."""

import pytest
from django.template import Context, Template

from vaxops.catalog.defaults import CATALOGUE
from vaxops.catalog.models import Product
from vaxops.catalog.selectors import product_short_name, product_short_names

NAMES = {
    "BBIBP-CorV": "国药北京",
    "WIBP-CorV": "国药武汉",
    "CoronaVac": "科兴",
    "Convidecia": "康希诺",
    "ZF2001": "智飞",
}


def test_the_default_catalogue_names_every_product():
    assert {p.code: p.short_zh for p in CATALOGUE.products} == NAMES


@pytest.mark.django_db
def test_the_stored_products_carry_their_short_names_and_the_look_up_reads_them():
    assert dict(Product.objects.values_list("code", "short_name_zh")) == NAMES
    assert product_short_name("CoronaVac") == "科兴"
    assert product_short_name("NoSuchVaccine") == "NoSuchVaccine"  # no name: the code, never a blank
    assert product_short_names(["BBIBP-CorV", "ZF2001"]) == "国药北京、智飞"
    product = Product.objects.get(code="Convidecia")
    html = Template("{% load vaxops_catalog %}{{ p|vaccine }} {{ c|vaccine }} {{ cs|vaccines }}").render(
        Context({"p": product, "c": "WIBP-CorV", "cs": ("CoronaVac", "BBIBP-CorV")})
    )
    assert html == "康希诺 国药武汉 科兴、国药北京"
    assert str(product).startswith("康希诺")
