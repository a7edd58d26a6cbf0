from django.urls import path

from . import views

app_name = "settlement"

urlpatterns = [
    path("", views.county, name="county"),
    path("run/", views.run, name="run"),
    path("subsidy/", views.subsidy, name="subsidy"),
    path("rules/", views.rules, name="rules"),
    path("sites/<str:code>/", views.site, name="site"),
    path("statements/<int:pk>/", views.statement, name="statement"),
    path("statements/<int:pk>/act/", views.act, name="act"),
    path("statements/<int:pk>/statement.xlsx", views.statement_xlsx, name="statement-xlsx"),
    path("statements/<int:pk>/statement.pdf", views.statement_pdf, name="statement-pdf"),
    path("months/<str:month>/summary.xlsx", views.summary_xlsx, name="summary-xlsx"),
    path("months/<str:month>/summary.pdf", views.summary_pdf, name="summary-pdf"),
]
