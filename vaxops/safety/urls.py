from django.urls import path

from . import views

app_name = "safety"

urlpatterns = [
    path("", views.cases, name="cases"),
    path("report/", views.report_new, name="report-new"),
    path("cases/<int:report_id>/", views.case, name="case"),
    path("cases/<int:report_id>/act/", views.case_act, name="case-act"),
    path("cases/<int:report_id>/card.xlsx", views.card_xlsx, name="card-xlsx"),
    path("holds/<int:hold_id>/", views.hold_act, name="hold"),
    path("hospital/", views.hospital, name="hospital"),
    path("hospital/cases/<int:case_id>/", views.hospital_case, name="hospital-case"),
    path("mine/<str:token>/", views.mine, name="mine"),
    path("sessions/<int:session_id>/cover/", views.session_cover, name="session-cover"),
]
