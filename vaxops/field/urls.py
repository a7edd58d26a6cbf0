from django.urls import path

from . import views

app_name = "field"

urlpatterns = [
    path("training/", views.training, name="training"),
    path("training/add/", views.course_add, name="course-add"),
    path("training/<int:pk>/", views.course_detail, name="course"),
    path("training/<int:pk>/enrol/", views.course_enrol, name="course-enrol"),
    path("training/<int:pk>/class/", views.course_class, name="course-class"),
    path("training/<int:pk>/exam/", views.course_exam, name="course-exam"),
    path("mobile/", views.mobile, name="mobile"),
    path("mobile/<str:code>/plan/", views.mobile_plan, name="mobile-plan"),
    path("sessions/<int:pk>/stock/", views.session_stock, name="session-stock"),
    path("sessions/<int:pk>/stock/out/", views.session_stock_out, name="session-stock-out"),
    path("sessions/<int:pk>/stock/<int:trip>/back/", views.session_stock_back, name="session-stock-back"),
    path("notice/<str:code>/", views.notice, name="notice"),
    path("notice/<str:code>/notice.pdf", views.notice_pdf_view, name="notice-pdf"),
    path("grid/", views.grid, name="grid"),
    path("grid/assign/", views.grid_assign, name="grid-assign"),
    path("grid/overdue/", views.grid_overdue, name="grid-overdue"),
    path("grid/lists/<int:pk>/", views.grid_list, name="grid-list"),
    path("grid/lists/<int:pk>/entries/<int:entry>/", views.grid_record, name="grid-record"),
]
