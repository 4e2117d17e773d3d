app_name = "investigations"

urlpatterns: list = []
