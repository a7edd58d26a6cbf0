from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from vaxops.accounts import views as accounts
from vaxops.api import api
from vaxops.audit import views as audit
from vaxops.booking import views as booking
from vaxops.campaign import views as campaign
from vaxops.catalog import views as catalog
from vaxops.clinic import views as clinic
from vaxops.desk import views as desk
from vaxops.registry import views as registry
from vaxops.sites import views as sites
from vaxops.supply import views as supply

urlpatterns = [
    path("", accounts.home, name="home"),
    path("accounts/login/", accounts.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("residents/", registry.residents, name="residents"),
    path("residents/find/", registry.resident_find, name="resident-find"),
    path("residents/<int:pk>/", registry.resident, name="resident"),
    path("residents/<int:pk>/reveal/", registry.resident_reveal, name="resident-reveal"),
    path("residents/import/", registry.import_page, name="import"),
    path("residents/import/template.xlsx", registry.import_template, name="import-template"),
    path("residents/import/<int:pk>/", registry.import_job, name="import-job"),
    path("residents/import/<int:pk>/errors.xlsx", registry.import_errors, name="import-errors"),
    path("audit/", audit.events, name="audit"),
    path("catalog/", catalog.catalogue, name="catalogue"),
    path("clinic/residents/<int:pk>/", clinic.assessment, name="clinic-resident"),
    path("clinic/residents/<int:pk>/screening/", clinic.screening, name="clinic-screening"),
    path("clinic/doses/<int:pk>/void/", clinic.dose_void, name="clinic-dose-void"),
    path(
        "clinic/contraindications/<int:pk>/lift/",
        clinic.contraindication_lift,
        name="clinic-contraindication-lift",
    ),
    path("desk/", desk.home, name="desk"),
    path("desk/doses/<int:pk>/record/", desk.dose_record, name="desk-record"),
    path("desk/doses/<int:pk>/void/", desk.dose_void, name="desk-dose-void"),
    path("desk/doses/<int:pk>/record-link/", desk.dose_record_link, name="desk-record-link"),
    path("desk/<int:session_id>/checkin/", desk.checkin, name="desk-checkin"),
    path("desk/<int:session_id>/checkin/walk-in/", desk.walk_in, name="desk-walk-in"),
    path("desk/<int:session_id>/screening/", desk.screening, name="desk-screening"),
    path("desk/<int:session_id>/consent/<int:resident_id>/", desk.consent, name="desk-consent"),
    path("desk/<int:session_id>/vaccinate/", desk.vaccinate, name="desk-vaccinate"),
    path("desk/<int:session_id>/vaccinate/done/<int:dose_id>/", desk.vaccinated, name="desk-vaccinated"),
    path("desk/<int:session_id>/observation/", desk.observation, name="desk-observation"),
    path(
        "desk/<int:session_id>/observation/<int:observation_id>/release/",
        desk.observation_release,
        name="desk-observation-release",
    ),
    path(
        "desk/<int:session_id>/observation/<int:observation_id>/reaction/",
        desk.observation_reaction,
        name="desk-observation-reaction",
    ),
    path("r/<str:token>/", desk.record_private, name="record-private"),
    path("r/<str:token>/revoke/", desk.record_private_revoke, name="record-private-revoke"),
    path("mobilisation/", campaign.mobilisation, name="mobilisation"),
    path("mobilisation/export.xlsx", campaign.mobilisation_export, name="mobilisation-export"),
    path("supply/", supply.overview, name="supply"),
    path("supply/balances.xlsx", supply.balances_xlsx, name="supply-balances-xlsx"),
    path("supply/lots/", supply.lots, name="supply-lots"),
    path("supply/lots/<int:pk>/", supply.lot, name="supply-lot"),
    path("supply/lots/<int:pk>/reveal/", supply.lot_reveal, name="supply-lot-reveal"),
    path("supply/lots/<int:pk>/status/", supply.lot_status, name="supply-lot-status"),
    path("supply/lots/<int:pk>/recall-return/", supply.lot_recall_return, name="supply-lot-recall-return"),
    path("supply/codes/", supply.codes, name="supply-codes"),
    path("supply/codes/<str:code>/", supply.code, name="supply-code"),
    path("supply/codes/<str:code>/waste/", supply.code_waste, name="supply-code-waste"),
    path("supply/import/", supply.import_page, name="supply-import"),
    path("supply/import/template.xlsx", supply.import_template, name="supply-import-template"),
    path("supply/import/<int:pk>/", supply.import_job, name="supply-import-job"),
    path("supply/import/<int:pk>/errors.xlsx", supply.import_errors, name="supply-import-errors"),
    path("supply/dispatches/", supply.dispatches, name="supply-dispatches"),
    path("supply/dispatches/new/", supply.dispatch_new, name="supply-dispatch-new"),
    path("supply/dispatches/<int:pk>/", supply.dispatch, name="supply-dispatch"),
    path("supply/dispatches/<int:pk>/receive/", supply.dispatch_receive, name="supply-dispatch-receive"),
    path("supply/allocation/", supply.allocation, name="supply-allocation"),
    path("supply/allocation/<int:pk>/", supply.allocation_run, name="supply-allocation-run"),
    path("supply/allocation/<int:pk>/approve/", supply.allocation_approve, name="supply-allocation-approve"),
    path("supply/counts/new/", supply.count_new, name="supply-count-new"),
    path("supply/counts/<int:pk>/", supply.count, name="supply-count"),
    path("supply/residents/<int:pk>/codes/", supply.person_codes, name="supply-person-codes"),
    path("sites/", sites.site_list, name="sites"),
    path("sites/sessions/<int:pk>/", sites.session_detail, name="session"),
    path("sites/sessions/<int:pk>/readiness/", sites.session_readiness, name="session-readiness"),
    path("sites/sessions/<int:pk>/assignments/", sites.session_assign, name="session-assign"),
    path("sites/sessions/<int:pk>/open/", sites.session_open, name="session-open"),
    path("sites/sessions/<int:pk>/close/", sites.session_close, name="session-close"),
    path("sites/sessions/<int:pk>/check-in/", sites.session_check_in, name="session-check-in"),
    path("sites/<str:code>/", sites.site_detail, name="site"),
    path("sites/<str:code>/plan/", sites.site_plan, name="site-plan"),
    path("sites/<str:code>/reserve/", sites.site_reserve, name="site-reserve"),
    path("booking/", booking.door, name="booking"),
    path("booking/waitlist/", booking.waitlist, name="booking-waitlist"),
    path("booking/appointments/", booking.appointments, name="booking-appointments"),
    path("booking/appointments/<int:pk>/cancel/", booking.appointment_cancel, name="booking-cancel"),
    path(
        "booking/appointments/<int:pk>/reschedule/", booking.appointment_reschedule, name="booking-reschedule"
    ),
    path("booking/employer/", booking.employer_door, name="booking-employer"),
    path("booking/employer/upload/", booking.employer_upload, name="booking-employer-upload"),
    path("booking/employer/jobs/<int:pk>/", booking.employer_job, name="booking-employer-job"),
    path("booking/employer/book/", booking.employer_book, name="booking-employer-book"),
    path("book/", booking.self_start, name="book"),
    path("book/verify/", booking.self_verify, name="book-verify"),
    path("book/slots/", booking.self_slots, name="book-slots"),
    path("book/me/", booking.self_me, name="book-me"),
    path("book/cancel/", booking.self_cancel, name="book-cancel"),
    path("book/exit/", booking.self_exit, name="book-exit"),
    path("", include("vaxops.certs.urls")),  # /certs/…, /verify/
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
]
