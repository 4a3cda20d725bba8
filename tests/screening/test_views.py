import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from ketacare.clinical.contraindications import checklist
from ketacare.screening import services
from ketacare.screening.models import AntidepressantTrial, CandidacyDecision, Consultation, Referral
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def checklist_post(**present):
    return {r.code: str(present.get(r.code, False)) for r in checklist()}


def test_front_desk_records_a_referral_with_a_new_referrer(client_as, front_desk, patient):
    client = client_as(front_desk)
    response = client.post(
        f"/patients/{patient.pk}/referrals/new/",
        {
            "new_provider_name": "Dr Ada Osei",
            "new_provider_practice": "Riverside Family Practice",
            "received_on": "2026-11-01",
            "reason": "Two antidepressants without benefit.",
            "presenting_conditions": ["treatment_resistant_depression", "ptsd"],
            "consent_to_treatment": "on",
            "consent_to_share": "on",
        },
    )
    assert response.status_code == 302
    referral = Referral.objects.get()
    assert referral.referring_provider.name == "Dr Ada Osei"
    chart = client.get(f"/patients/{patient.pk}/").content.decode()
    assert "Dr Ada Osei, Riverside Family Practice" in chart
    assert "Treatment-resistant depression, Post-traumatic stress disorder" in chart
    assert "Candidacy" not in chart  # the front desk sees the referral, not the clinical decision


def test_the_referral_form_starts_from_the_clinician_named_at_registration(
    client_as, front_desk, actor, patient
):
    from ketacare.patients.models import Patient
    from ketacare.patients.services import referring_provider_create

    provider = referring_provider_create(
        actor=actor, details={"name": "Dr Lena Park", "practice": "Elm Clinic"}
    )
    Patient.objects.filter(pk=patient.pk).update(referring_provider=provider)
    client = client_as(front_desk)
    form = client.get(f"/patients/{patient.pk}/referrals/new/").content.decode()
    assert f'<option value="{provider.pk}" selected>' in form
    # Submitted as offered, reports may be shared with that clinician: no "no referring clinician".
    response = client.post(
        f"/patients/{patient.pk}/referrals/new/",
        {
            "referring_provider": str(provider.pk),
            "received_on": "2026-11-01",
            "reason": "Three antidepressants without benefit.",
            "presenting_conditions": ["treatment_resistant_depression"],
            "consent_to_treatment": "on",
            "consent_to_share": "on",
        },
    )
    assert response.status_code == 302
    assert Referral.objects.get().referring_provider == provider


def test_a_bad_referral_answers_422_with_every_error_beside_its_field(client_as, front_desk, patient):
    response = client_as(front_desk).post(
        f"/patients/{patient.pk}/referrals/new/",
        {"received_on": "2026-11-01", "new_provider_phone": "555 0101"},
    )
    assert response.status_code == 422
    html = response.content.decode()
    for message in (
        "Choose at least one presenting condition.",
        "This field is required.",
        "Enter the new referring clinician&#x27;s name.",
    ):
        assert message in html
    assert not Referral.objects.exists()


def test_the_consultation_page_shows_staging_findings_and_baseline_prompts(
    client_as, physician, consultation, django_assert_max_num_queries
):
    client = client_as(physician)
    with django_assert_max_num_queries(22):
        html = client.get(f"/consultations/{consultation.pk}/").content.decode()
    assert (
        "failed adequate antidepressant trials in this episode: <strong>treatment-resistant</strong>" in html
    )
    assert "6 <small>/ 15, mild</small>" in html
    assert "Adequate: 150 mg/day for 8.7 weeks; no response: failed." in html
    assert html.count("not yet rated") == 2  # PHQ-9 and GAD-7 prompt; MADRS is optional
    assert "no contraindication found" in html


def test_query_count_does_not_grow_with_the_history(
    client_as, physician, consultation, doctor, django_assert_max_num_queries
):
    import datetime
    from decimal import Decimal

    for i in range(30):
        services.trial_record(
            actor=doctor,
            patient=consultation.patient,
            drug="mirtazapine",
            daily_dose_mg=Decimal(30),
            started_on=datetime.date(2020, 1, 1) + datetime.timedelta(days=60 * i),
            stopped_on=None if i == 29 else datetime.date(2020, 2, 1) + datetime.timedelta(days=60 * i),
            outcome="no_response",
        )
    client = client_as(physician)
    with django_assert_max_num_queries(22):
        assert client.get(f"/consultations/{consultation.pk}/").status_code == 200


def test_the_checklist_form_marks_each_unanswered_question(client_as, nurse, consultation):
    data = checklist_post(maoi=True)
    del data["pregnancy"], data["breastfeeding"]
    response = client_as(nurse).post(f"/consultations/{consultation.pk}/checklist/", data)
    assert response.status_code == 422
    assert response.content.decode().count("Answer yes or no.") == 2
    consultation.refresh_from_db()
    assert consultation.checklist["maoi"] is False  # nothing half-written


def test_a_positive_finding_is_explained_on_the_page(client_as, nurse, consultation):
    client = client_as(nurse)
    assert (
        client.post(f"/consultations/{consultation.pk}/checklist/", checklist_post(maoi=True)).status_code
        == 302
    )
    html = client.get(f"/consultations/{consultation.pk}/").content.decode()
    assert (
        "Relative:</strong> Taking a monoamine oxidase inhibitor. "
        "MAOIs can add to the rise in blood pressure." in html
    )
    assert "precautions apply" in html


def test_a_nurse_adds_and_strikes_out_a_trial(client_as, nurse, consultation):
    client = client_as(nurse)
    response = client.post(
        f"/consultations/{consultation.pk}/trials/",
        {
            "drug": "bupropion",
            "daily_dose_mg": "150",
            "started_on": "2026-01-05",
            "stopped_on": "2026-03-01",
            "adherence": "good",
            "outcome": "no_response",
            "current_episode": "on",
        },
    )
    assert response.status_code == 302
    trial = AntidepressantTrial.objects.get(drug="bupropion")
    html = client.get(f"/consultations/{consultation.pk}/").content.decode()
    assert "150 mg/day is below the minimum adequate 300 mg/day" in html
    assert (
        client.post(
            f"/consultations/{consultation.pk}/trials/{trial.pk}/strike-out/", {"reason": "wrong patient"}
        ).status_code
        == 302
    )
    trial.refresh_from_db()
    assert trial.struck_out_reason == "wrong patient"


def test_a_nurse_cannot_sign_a_decision(client_as, nurse, consultation):
    response = client_as(nurse).post(f"/consultations/{consultation.pk}/decision/", {"decision": "eligible"})
    assert response.status_code == 403
    assert not CandidacyDecision.objects.exists()


def test_the_physician_signs_and_downloads_the_letter(client_as, physician, consultation):
    client = client_as(physician)
    response = client.post(
        f"/consultations/{consultation.pk}/decision/",
        {
            "decision": "eligible",
            "routes": ["iv_ketamine"],
            "reasons": "Treatment-resistant, no contraindication.",
            "plan": "Six infusions over two to three weeks.",
            "password": PASSWORD,
        },
    )
    assert response.status_code == 302
    decision = CandidacyDecision.objects.get()
    chart = client.get(f"/patients/{consultation.patient_id}/").content.decode()
    assert "<strong>Eligible</strong> for IV ketamine" in chart
    pdf = client.get(f"/decisions/{decision.pk}/letter.pdf")
    assert pdf["Content-Type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    text = " ".join(text.split())
    assert "Anna Smith" in text and consultation.patient.mrn in text
    assert "Eligible for IV ketamine" in text
    assert "Maudsley Staging Method: 6 of 15 (mild)" in text
    assert "Six infusions over two to three weeks." in text


def test_a_refused_decision_keeps_what_was_typed(client_as, physician, consultation):
    response = client_as(physician).post(
        f"/consultations/{consultation.pk}/decision/",
        {
            "decision": "eligible",
            "routes": ["iv_ketamine"],
            "reasons": "My careful reasons",
            "password": "wrong",
        },
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "That password cannot confirm it is you" in html and "My careful reasons" in html
    assert not CandidacyDecision.objects.exists()


def test_starting_a_consultation_links_the_latest_referral(client_as, physician, patient, referral):
    response = client_as(physician).post(f"/patients/{patient.pk}/consultations/new/")
    c = Consultation.objects.get()
    assert response["Location"] == f"/consultations/{c.pk}/"
    assert c.referral == referral and c.clinician == physician


def letter_text(client, decision):
    pdf = client.get(f"/decisions/{decision.pk}/letter.pdf")
    assert pdf["Content-Type"] == "application/pdf"
    return " ".join(
        " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages).split()
    )


def sign_post(client, consultation, **fields):
    data = {"decision": "eligible", "routes": ["iv_ketamine"], "reasons": "TRD.", "password": PASSWORD}
    data.update(fields)
    return client.post(f"/consultations/{consultation.pk}/decision/", data)


def test_a_new_relative_item_is_shown_on_the_page_and_listed_in_the_letter(
    client_as, physician, consultation
):
    client = client_as(physician)
    assert (
        client.post(
            f"/consultations/{consultation.pk}/checklist/",
            checklist_post(ulcerative_or_interstitial_cystitis=True),
        ).status_code
        == 302
    )
    html = client.get(f"/consultations/{consultation.pk}/").content.decode()
    assert html.count("Relative:</strong> Ulcerative or interstitial cystitis.") == 2  # one per route
    assert html.count("precautions apply") == 2
    assert sign_post(client, consultation).status_code == 422  # plain "eligible" is refused
    response = sign_post(
        client, consultation, decision="eligible_with_precautions", precautions="Ask about urinary symptoms."
    )
    assert response.status_code == 302
    text = letter_text(client, CandidacyDecision.objects.get())
    assert "Relative for IV ketamine: Ulcerative or interstitial cystitis: Ketamine can cause" in text
    assert "Relative for Esketamine nasal spray: Ulcerative or interstitial cystitis" in text


def test_efficacy_notes_are_shown_as_notes_and_do_not_stop_a_plain_eligible(
    client_as, physician, consultation
):
    client = client_as(physician)
    client.post(f"/consultations/{consultation.pk}/checklist/", checklist_post(naltrexone=True))
    html = client.get(f"/consultations/{consultation.pk}/").content.decode()
    assert html.count("Efficacy note:</strong> Taking naltrexone.") == 2
    assert html.count("no contraindication found") == 2
    assert sign_post(client, consultation, routes=["iv_ketamine", "esketamine_nasal"]).status_code == 302
    text = letter_text(client, CandidacyDecision.objects.get())
    assert "Eligible for IV ketamine and Esketamine nasal spray" in text
    assert "None found on the clinic's history checklist." in text
    assert "Notes on the expected benefit" in text
    assert (
        "Taking naltrexone: Naltrexone may attenuate the antidepressant effect (one small trial; later "
        "reports found no loss). (IV ketamine and Esketamine nasal spray; Williams et al." in text
    )


def test_no_route_is_called_free_of_contraindications_before_the_checklist_is_answered(
    client_as, physician, doctor, patient
):
    from tests.screening.conftest import no_findings

    consultation = services.consultation_start(actor=doctor, patient=patient)
    services.episode_record(
        actor=doctor,
        consultation=consultation,
        episode_duration_months=18,
        severity="moderate",
        augmentation_used=False,
    )
    client = client_as(physician)
    html = client.get(f"/consultations/{consultation.pk}/").content.decode()
    assert "no contraindication found" not in html
    assert html.count("<strong>not checked yet</strong>") == 2  # IV ketamine and esketamine
    assert "until then nothing rules a contraindication out" in html
    services.checklist_record(actor=doctor, consultation=consultation, answers=no_findings())
    html = client.get(f"/consultations/{consultation.pk}/").content.decode()
    assert html.count("no contraindication found") == 2 and "not checked yet" not in html


def test_an_old_checklist_still_shows_and_asks_only_the_new_questions(client_as, physician, consultation):
    from tests.screening.test_services import OLD_QUESTIONS

    Consultation.objects.filter(pk=consultation.pk).update(
        checklist={**dict.fromkeys(OLD_QUESTIONS, False), "maoi": True}
    )
    client = client_as(physician)
    response = client.get(f"/consultations/{consultation.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Relative:</strong> Taking a monoamine oxidase inhibitor." in html
    assert "10 questions added since: answer them before the decision is signed." in html
    assert 'name="maoi" value="True" id="id_maoi_0" required checked>' in html
    assert 'name="lamotrigine" value="True" id="id_lamotrigine_0" required>' in html  # not answered
    assert 'name="lamotrigine" value="False" id="id_lamotrigine_1" required>' in html
    response = sign_post(client, consultation, decision="eligible_with_precautions", precautions="MAOI.")
    assert response.status_code == 422
    assert "Answer the history checklist&#x27;s new questions before signing" in response.content.decode()
    assert not CandidacyDecision.objects.exists()


def test_the_age_at_the_consultation_shows_without_a_question(client_as, physician, doctor, register):
    import datetime

    patient = register(date_of_birth=datetime.date(1950, 3, 1))
    c = services.consultation_start(actor=doctor, patient=patient)
    services.episode_record(
        actor=doctor, consultation=c, episode_duration_months=6, severity="moderate", augmentation_used=False
    )
    html = client_as(physician).get(f"/consultations/{c.pk}/").content.decode()
    assert html.count("Relative:</strong> Aged 65 or over on the day of the consultation.") == 2
    assert 'name="age_65_or_over"' not in html


def trial_post(client, consultation, **fields):
    data = {
        "drug": "liothyronine",
        "daily_dose_mg": "25",
        "dose_unit": "microgram",
        "started_on": "2026-01-05",
        "stopped_on": "2026-03-01",
        "adherence": "good",
        "outcome": "no_response",
        "current_episode": "on",
    }
    data.update(fields)
    return client.post(f"/consultations/{consultation.pk}/trials/", data)


def test_liothyronine_is_entered_in_micrograms_and_shown_in_micrograms(client_as, nurse, consultation):
    client = client_as(nurse)
    page = client.get(f"/consultations/{consultation.pk}/").content.decode()
    assert "Liothyronine (thyroid hormone, adequate from 25 micrograms/day)" in page
    assert "Clomipramine (TCA, adequate from 150 mg/day; off-label for depression in the US" in page
    assert trial_post(client, consultation).status_code == 302
    assert AntidepressantTrial.objects.get(drug="liothyronine").daily_dose_mg == Decimal("0.025")
    html = client.get(f"/consultations/{consultation.pk}/").content.decode()
    assert "<td>25 micrograms</td>" in html
    assert "Adequate: 25 micrograms/day for 7.9 weeks" in html


def test_25_liothyronine_typed_as_mg_is_refused_beside_the_dose_keeping_what_was_typed(
    client_as, nurse, consultation
):
    client = client_as(nurse)
    response = trial_post(client, consultation, dose_unit="mg")
    assert response.status_code == 422
    html = response.content.decode()
    assert "is it in micrograms?" in html and "likely a unit error" in html
    assert 'name="daily_dose_mg" value="25"' in html
    assert not AntidepressantTrial.objects.filter(drug="liothyronine").exists()


def test_5000_mg_of_sertraline_is_refused_naming_the_dose(client_as, nurse, consultation):
    client = client_as(nurse)
    response = trial_post(client, consultation, drug="sertraline", daily_dose_mg="5000", dose_unit="mg")
    assert response.status_code == 422
    assert (
        "5000 mg/day of sertraline is above the plausible maximum of 400 mg/day" in response.content.decode()
    )
    assert AntidepressantTrial.objects.filter(drug="sertraline").count() == 1  # the fixture's only


def test_without_a_failed_trial_the_page_and_letter_say_not_staged(
    client_as, physician, doctor, consultation
):
    for t in AntidepressantTrial.objects.all():
        services.trial_strike_out(actor=doctor, trial=t, reason="entered in error")
    client = client_as(physician)
    html = client.get(f"/consultations/{consultation.pk}/").content.decode()
    assert "Not staged" in html and "/ 15," not in html
    assert sign_post(client, consultation).status_code == 302
    text = letter_text(client, CandidacyDecision.objects.get())
    assert "Maudsley Staging Method: not staged" in text and "of 15" not in text


def test_counts_read_in_the_singular_when_there_is_one(client_as, physician, doctor, consultation):
    services.prior_treatment_record(
        actor=doctor, patient=consultation.patient, kind="ect", outcome="no_response", sessions=1
    )
    html = client_as(physician).get(f"/consultations/{consultation.pk}/").content.decode()
    assert ", 1 session —" in html and "1 sessions" not in html


def test_rate_now_from_the_consultation_is_a_baseline_rating_and_comes_back_to_it(
    client_as, physician, consultation
):
    from django.urls import reverse

    from ketacare.measures.models import QuestionnaireResponse

    client = client_as(physician)
    page = client.get(f"/consultations/{consultation.pk}/").content.decode()
    start = page.index('href="', page.index("Rate now") - 200) + len('href="')
    link = page[start : page.index('"', start)].replace("&amp;", "&")
    assert link.startswith(
        reverse("measures:response-new", args=[consultation.patient_id]) + "?instrument=phq9"
    )
    form = client.get(link).content.decode()
    assert '<option value="baseline" selected>' in form
    assert f'href="/consultations/{consultation.pk}/#baseline" role="button"' in form  # Cancel goes back
    from django.utils import timezone

    answers = {f"item_{n}": "1" for n in range(1, 10)}
    answers["administered_at"] = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    saved = client.post(link, {"instrument": "phq9", "context": "baseline", **answers})
    assert saved.status_code == 302
    assert saved["Location"] == f"/consultations/{consultation.pk}/#baseline"
    assert QuestionnaireResponse.objects.get(patient=consultation.patient).context == "baseline"
    # A link to another site is never followed.
    elsewhere = client.post(
        link.split("&next=")[0] + "&next=https://evil.example/",
        {"instrument": "phq9", "context": "baseline", **answers},
    )
    assert elsewhere.status_code == 302 and elsewhere["Location"].startswith("/patients/")


def test_a_signed_eligible_decision_leads_to_starting_the_plan(client_as, physician, nurse, consultation):
    client = client_as(physician)
    page = f"/consultations/{consultation.pk}/"
    assert "Next: start the treatment plan" not in client.get(page).content.decode()
    assert sign_post(client, consultation).status_code == 302
    html = client.get(page).content.decode()
    plan_new = f"/patients/{consultation.patient_id}/plans/new/"
    assert f'<a href="{plan_new}" role="button">Next: start the treatment plan' in html
    assert "Next: start the treatment plan" not in client_as(nurse).get(page).content.decode()  # may not


def test_a_not_eligible_decision_offers_no_plan(client_as, physician, consultation):
    client = client_as(physician)
    signed = sign_post(client, consultation, decision="not_eligible", routes=[], reasons="Psychosis.")
    assert signed.status_code == 302, signed.content.decode()[-1500:]
    html = client.get(f"/consultations/{consultation.pk}/").content.decode()
    assert "Not eligible" in html and "Next: start the treatment plan" not in html
