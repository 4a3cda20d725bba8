from django.urls import include, path

from ketacare.screening import views

app_name = "screening"

# A consultation's page and the forms of its sections.
consultation = [
    path("", views.consultation_detail, name="consultation"),
    path("episode/", views.episode_edit, name="episode"),
    path("checklist/", views.checklist_edit, name="checklist"),
    path("trials/", views.trial_new, name="trial-new"),
    path("trials/<int:trial_id>/strike-out/", views.trial_strike_out, name="trial-strike-out"),
    path("treatments/", views.prior_new, name="prior-new"),
    path("decision/", views.decision_new, name="decision"),
]

urlpatterns = [
    path("patients/<int:patient_id>/referrals/new/", views.referral_new, name="referral-new"),
    path("patients/<int:patient_id>/consultations/new/", views.consultation_new, name="consultation-new"),
    path("consultations/<int:consultation_id>/", include(consultation)),
    path("decisions/<int:decision_id>/letter.pdf", views.letter, name="letter"),
]
