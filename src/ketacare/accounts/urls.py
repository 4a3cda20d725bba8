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
    path("two-factor/", views.two_factor, name="two-factor"),
    path("two-factor/setup/", views.two_factor_setup, name="two-factor-setup"),
    path("account/", views.account, name="account"),
    path("account/recovery-codes/", views.recovery_codes_renew, name="recovery-codes"),
    path("account/password/", views.PasswordChangeView.as_view(), name="password-change"),
    # Password reset by e-mail (Django's views; the mail goes through EMAIL_BACKEND). The same page
    # answers whether or not the address has an account.
    path("password-reset/", views.PasswordResetView.as_view(), name="password-reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_sent.html"),
        name="password-reset-sent",
    ),
    path("reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(), name="password-reset-confirm"),
    path(
        "reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="accounts/password_reset_complete.html"),
        name="password-reset-complete",
    ),
    path("staff/", views.staff_list, name="staff"),
    path("staff/new/", views.staff_new, name="staff-new"),
    path("staff/<int:user_id>/", views.staff_detail, name="staff-detail"),
    path("staff/<int:user_id>/<str:action>/", views.staff_action, name="staff-action"),
    path("api-tokens/", views.api_tokens, name="api-tokens"),
    path("api-tokens/<int:token_id>/revoke/", views.api_token_revoke, name="api-token-revoke"),
]
