"""Management commands of the project itself (``awda X`` runs ``django-admin X``)."""
