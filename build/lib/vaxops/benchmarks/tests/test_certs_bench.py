"""The benchmark runs (tiny sizes) and reports every figure."""

from vaxops.benchmarks.certs import cert_bench


def test_cert_bench_reports_rates():
    report = cert_bench(20, runs=1)
    for key in ("issued_per_s", "verified_per_s", "raw_sign_per_s", "raw_verify_per_s"):
        assert report[key] > 0
    assert 400 < report["hc1_chars_median"] < 800


def test_cert_bench_through_the_service_rolls_back(vaccinated):
    from vaxops.certs.models import SigningKey, VaccinationCertificate

    report = cert_bench(5, runs=1, db_residents=10)
    assert report["issued_db"] == 1 and report["issued_db_per_s"] > 0
    assert not VaccinationCertificate.objects.exists() and not SigningKey.objects.exists()
