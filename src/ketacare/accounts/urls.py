from django.contrib.auth import views as auth_views
from django.urls import path

from ketacare.accounts import views
from ketacare.accounts.forms import LoginForm

app_name = "accounts"
urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(template_name="accounts/login.html", authentication_form=LoginForm),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("staff/", views.staff_list, name="staff"),
    path("staff/new/", views.staff_new, name="staff-new"),
    path("staff/<int:user_id>/", views.staff_detail, name="staff-detail"),
    path("staff/<int:user_id>/<str:action>/", views.staff_action, name="staff-action"),
]
