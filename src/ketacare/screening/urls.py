from django.urls import path

from ketacare.screening import views

app_name = "screening"
urlpatterns = [
    path("patients/<int:patient_id>/referrals/new/", views.referral_new, name="referral-new"),
    path("patients/<int:patient_id>/consultations/new/", views.consultation_new, name="consultation-new"),
    path("consultations/<int:consultation_id>/", views.consultation_detail, name="consultation"),
    path("consultations/<int:consultation_id>/episode/", views.episode_edit, name="episode"),
    path("consultations/<int:consultation_id>/checklist/", views.checklist_edit, name="checklist"),
    path("consultations/<int:consultation_id>/trials/", views.trial_new, name="trial-new"),
    path(
        "consultations/<int:consultation_id>/trials/<int:trial_id>/strike-out/",
        views.trial_strike_out,
        name="trial-strike-out",
    ),
    path("consultations/<int:consultation_id>/treatments/", views.prior_new, name="prior-new"),
    path("consultations/<int:consultation_id>/decision/", views.decision_new, name="decision"),
    path("decisions/<int:decision_id>/letter.pdf", views.letter, name="letter"),
]
