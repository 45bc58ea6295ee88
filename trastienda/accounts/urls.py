from django.contrib.auth import views as auth_views
from django.urls import path

app_name = "accounts"

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(template_name="accounts/login.html"),
         name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # (lead) interim routes so the shell renders until the accounts pages land
    path("password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("security/", auth_views.PasswordChangeView.as_view(), name="security"),
]
