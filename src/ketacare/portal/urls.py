from django.urls import path

from ketacare.portal import views

app_name = "portal"
urlpatterns = [
    path("about/<slug:slug>/", views.public_page, name="page"),
    path("talk-to-a-doctor/", views.enquiry_new, name="enquiry-new"),
    path("enquiries/", views.enquiry_list, name="enquiries"),
    path("enquiries/<int:enquiry_id>/", views.enquiry_detail, name="enquiry"),
    path("enquiries/<int:enquiry_id>/<str:action>/", views.enquiry_action, name="enquiry-action"),
    path("enquiries/moves/<int:request_id>/<str:action>/", views.move_request_action, name="move-action"),
    path("patients/<int:patient_id>/shared/", views.shared_documents, name="shared"),
    path(
        "patients/<int:patient_id>/shared/<int:document_id>/stop/",
        views.shared_document_stop,
        name="shared-stop",
    ),
    path("stop/<str:token>/", views.stop_messages, name="stop"),
    path("my/", views.portal_home, name="portal-home"),
    path("my/sign-in/", views.portal_sign_in, name="portal-sign-in"),
    path("my/code/", views.portal_code, name="portal-code"),
    path("my/sign-out/", views.portal_sign_out, name="portal-sign-out"),
    path("my/appointments/<int:appointment_id>/move/", views.portal_move, name="portal-move"),
    path("my/questionnaires/<int:link_id>/", views.portal_questionnaire, name="portal-questionnaire"),
    path("my/documents/<int:document_id>.pdf", views.portal_document, name="portal-document"),
    path("my/consent/<str:kind>/", views.portal_consent, name="portal-consent"),
    path(
        "my/consent/signatures/<int:signature_id>/withdraw/",
        views.portal_consent_withdraw,
        name="portal-consent-withdraw",
    ),
    path(
        "my/consent/signatures/<int:signature_id>/copy.pdf",
        views.portal_consent_copy,
        name="portal-consent-copy",
    ),
    path("site/", views.site_edit, name="site"),
    path("site/consent/<str:kind>/", views.consent_edit, name="consent-edit"),
    path("site/<slug:slug>/", views.page_edit, name="page-edit"),
]
