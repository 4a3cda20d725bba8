from django.urls import path

from ketacare.portal import views

app_name = "portal"
urlpatterns = [
    path("about/<slug:slug>/", views.public_page, name="page"),
    path("site/", views.site_edit, name="site"),
    path("site/<slug:slug>/", views.page_edit, name="page-edit"),
]
