// Package django is the end-to-end test of `sesame import django`: a real
// Django project (Debian's python3-django, python3-djangorestframework,
// python3-argon2, python3-bcrypt, python3-psycopg2; PYTHON overrides
// /usr/bin/python3) is created in a temp dir, its users, groups and DRF
// tokens imported with the sesame binary built from this tree, and the
// server started as the README says and driven over HTTP: the web login
// form, the password grant, introspection and /userinfo. Under CI=true a
// missing Django fails the test; elsewhere it skips with the reason.
package django
