from django.urls import path

from ketacare.ledger import views

app_name = "ledger"
urlpatterns = [
    path("", views.stock, name="stock"),
    path("setup/", views.setup, name="setup"),
    path("receive/", views.receive, name="receive"),
    path("inventory/", views.inventory, name="inventory"),
    path("lots/<int:lot_id>/", views.lot, name="lot"),
    path("countersign/", views.countersign, name="countersign"),
    path("incidents/", views.incidents, name="incidents"),
    path("incidents/<int:incident_id>/", views.incident, name="incident"),
    path("export/", views.export, name="export"),
    path("locations/<int:registration_id>/inventory.pdf", views.inventory_record, name="inventory-record"),
]
