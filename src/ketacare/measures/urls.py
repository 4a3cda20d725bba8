from django.urls import path

from ketacare.measures import views

app_name = "measures"
urlpatterns = [
    path("patients/<int:patient_id>/measures/new/", views.response_new, name="response-new"),
    path("patients/<int:patient_id>/measures/more/", views.responses_more, name="responses-more"),
    path(
        "patients/<int:patient_id>/measures/<int:response_id>/", views.response_detail, name="response-detail"
    ),
    path("patients/<int:patient_id>/measures/links/", views.link_create, name="link-create"),
    path(
        "patients/<int:patient_id>/measures/links/<int:link_id>/revoke/",
        views.link_revoke,
        name="link-revoke",
    ),
    path("alerts/", views.alert_list, name="alert-list"),
    path("alerts/<int:alert_id>/acknowledge/", views.alert_acknowledge, name="alert-acknowledge"),
    path("r/<str:token>/", views.self_report, name="self-report"),
]
