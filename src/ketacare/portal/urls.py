from django.urls import include, path

from ketacare.portal import views

app_name = "portal"

# The front desk's queue of enquiries, and the patients' requests to move an appointment.
enquiries = [
    path("", views.enquiry_list, name="enquiries"),
    path("<int:enquiry_id>/", views.enquiry_detail, name="enquiry"),
    path("<int:enquiry_id>/<str:action>/", views.enquiry_action, name="enquiry-action"),
    path("moves/<int:request_id>/<str:action>/", views.move_request_action, name="move-action"),
]

# The patient portal: the patient's own pages, after sign-in by a one-time code.
my = [
    path("", views.portal_home, name="portal-home"),
    path("sign-in/", views.portal_sign_in, name="portal-sign-in"),
    path("code/", views.portal_code, name="portal-code"),
    path("sign-out/", views.portal_sign_out, name="portal-sign-out"),
    path("appointments/<int:appointment_id>/move/", views.portal_move, name="portal-move"),
    path("questionnaires/<int:link_id>/", views.portal_questionnaire, name="portal-questionnaire"),
    path("documents/<int:document_id>.pdf", views.portal_document, name="portal-document"),
    path("consent/<str:kind>/", views.portal_consent, name="portal-consent"),
    path(
        "consent/signatures/<int:signature_id>/withdraw/",
        views.portal_consent_withdraw,
        name="portal-consent-withdraw",
    ),
    path(
        "consent/signatures/<int:signature_id>/copy.pdf",
        views.portal_consent_copy,
        name="portal-consent-copy",
    ),
]

# The clinic admin's editing of the public pages and the consent documents.
site = [
    path("", views.site_edit, name="site"),
    path("consent/<str:kind>/", views.consent_edit, name="consent-edit"),
    path("<slug:slug>/", views.page_edit, name="page-edit"),
]

urlpatterns = [
    path("about/<slug:slug>/", views.public_page, name="page"),
    path("talk-to-a-doctor/", views.enquiry_new, name="enquiry-new"),
    path("enquiries/", include(enquiries)),
    path("patients/<int:patient_id>/shared/", views.shared_documents, name="shared"),
    path(
        "patients/<int:patient_id>/shared/<int:document_id>/stop/",
        views.shared_document_stop,
        name="shared-stop",
    ),
    path("stop/<str:token>/", views.stop_messages, name="stop"),
    path("my/", include(my)),
    path("site/", include(site)),
]
