from django.urls import path

from ketacare.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("today/board/", views.board, name="board"),
    path("healthz", views.healthz, name="healthz"),
    path("patients/<int:patient_id>/disclosures/", views.disclosures, name="disclosures"),
]
