import datetime
import hashlib
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction

from ketacare.audit.context import Actor
from ketacare.audit.models import AuditEvent
from ketacare.screening import selectors, services
from ketacare.screening.models import (
    AntidepressantTrial,
    CandidacyDecision,
    Consultation,
    DecisionImmutableError,
    Referral,
)
from tests.conftest import PASSWORD
from tests.screening.conftest import no_findings

pytestmark = pytest.mark.django_db


def sign(actor, consultation, **kw):
    args = dict(
        decision="eligible", routes=["iv_ketamine"], reasons="TRD, no contraindication.", password=PASSWORD
    )
    args.update(kw)
    return services.decision_sign(actor=actor, consultation=consultation, **args)


class TestReferral:
    def test_records_the_referral_and_links_the_referrer(self, actor, patient):
        from ketacare.patients.services import referring_provider_create

        provider = referring_provider_create(
            actor=actor, details={"name": "Dr Lee", "practice": "Elm Street"}
        )
        r = services.referral_record(
            actor=actor,
            patient=patient,
            referring_provider=provider,
            received_on=datetime.date(2026, 9, 1),
            reason=" Severe anxiety ",
            presenting_conditions=["severe_anxiety", "depression", "depression"],
            consent_to_treatment=True,
            consent_to_share=True,
        )
        patient.refresh_from_db()
        assert patient.referring_provider == provider
        assert (r.reason, r.presenting_conditions) == ("Severe anxiety", ["severe_anxiety", "depression"])
        assert AuditEvent.objects.filter(object_type="screening.referral", object_id=str(r.pk)).count() == 1

    def test_bad_referrals_name_every_field_and_write_nothing(self, actor, patient):
        with pytest.raises(ValidationError) as err:
            services.referral_record(
                actor=actor,
                patient=patient,
                referring_provider=None,
                received_on=datetime.date(2026, 9, 1),
                reason=" ",
                presenting_conditions=["flu"],
                consent_to_treatment=True,
                consent_to_share=True,
            )
        assert set(err.value.message_dict) == {"presenting_conditions", "reason", "consent_to_share"}
        assert not Referral.objects.exists()


class TestHistory:
    def test_an_unanswered_checklist_question_is_not_a_no(self, doctor, consultation):
        answers = no_findings()
        del answers["pregnancy"]
        with pytest.raises(ValidationError) as err:
            services.checklist_record(actor=doctor, consultation=consultation, answers=answers)
        assert err.value.message_dict == {"pregnancy": ["Answer yes or no."]}

    def test_staging_comes_from_the_stored_history(self, consultation):
        staging = selectors.consultation_staging(consultation)
        assert (staging.failed_adequate_trials, staging.treatment_resistant) == (2, True)
        assert staging.maudsley.total == 2 + 3 + 1
        assert staging.weeks_on_trials == Decimal("17.4")  # 61 + 61 days

    def test_a_struck_out_trial_stops_counting_but_stays_on_record(self, doctor, consultation):
        trial = AntidepressantTrial.objects.get(drug="venlafaxine")
        services.trial_strike_out(actor=doctor, trial=trial, reason="entered twice")
        assert selectors.consultation_staging(consultation).treatment_resistant is False
        trial.refresh_from_db()
        assert trial.struck_out_reason == "entered twice" and trial.struck_out_by == doctor.user
        with pytest.raises(ValidationError, match="already struck out"):
            services.trial_strike_out(actor=doctor, trial=trial, reason="again")

    def test_trial_dates_are_checked(self, doctor, patient):
        with pytest.raises(ValidationError) as err:
            services.trial_record(
                actor=doctor,
                patient=patient,
                drug="sertraline",
                daily_dose_mg=Decimal(50),
                started_on=datetime.date(2025, 5, 1),
                stopped_on=datetime.date(2025, 4, 1),
                outcome="no_response",
            )
        assert err.value.message_dict == {"stopped_on": ["A trial cannot stop before it starts."]}

    def record(self, doctor, patient, drug, dose):
        return services.trial_record(
            actor=doctor,
            patient=patient,
            drug=drug,
            daily_dose_mg=Decimal(dose),
            started_on=datetime.date(2025, 5, 1),
            stopped_on=datetime.date(2025, 7, 1),
            outcome="no_response",
        )

    def test_sertraline_at_the_plausible_maximum_is_recorded(self, doctor, patient):
        assert self.record(doctor, patient, "sertraline", "400").daily_dose_mg == 400

    @pytest.mark.parametrize(
        ("drug", "dose", "message"),
        [
            ("sertraline", "400.001", "likely a unit error"),
            ("sertraline", "5000", "5000 mg/day of sertraline is above the plausible maximum of 400 mg/day"),
            ("liothyronine", "25", "is it in micrograms?"),
        ],
    )
    def test_a_dose_above_the_plausible_maximum_is_refused_on_the_dose_field_and_nothing_saved(
        self, doctor, patient, drug, dose, message
    ):
        events = AuditEvent.objects.count()
        with pytest.raises(ValidationError) as err:
            self.record(doctor, patient, drug, dose)
        assert list(err.value.message_dict) == ["daily_dose_mg"]
        assert message in err.value.message_dict["daily_dose_mg"][0]
        assert AntidepressantTrial.objects.filter(patient=patient).count() == 0
        assert AuditEvent.objects.count() == events

    def test_25_micrograms_of_liothyronine_is_recorded_in_mg(self, doctor, patient):
        trial = self.record(doctor, patient, "liothyronine", "0.025")
        assert (trial.daily_dose_mg, trial.dose_text, str(trial)) == (
            Decimal("0.025"),
            "25 micrograms",
            "Liothyronine 25 micrograms/day",
        )

    def test_a_clinic_added_drug_can_be_recorded_and_counts(
        self, doctor, patient, consultation, tmp_path, settings
    ):
        rules_file = tmp_path / "rules.json"
        rules_file.write_text(
            '{"min_daily_dose_mg": {"agomelatine": {"class": "melatonergic",'
            ' "min_daily_dose_mg": 25, "max_daily_dose_mg": 100}}}'
        )
        settings.SCREENING_RULES_FILE = str(rules_file)
        self.record(doctor, patient, "agomelatine", "25")
        assert selectors.consultation_staging(consultation).failed_adequate_trials == 3
        with pytest.raises(ValidationError, match="not in the clinic's list"):
            self.record(doctor, patient, "tianeptine", "25")

    def test_a_stored_drug_the_clinic_no_longer_lists_is_adequacy_unknown_not_a_crash(
        self, doctor, patient, consultation
    ):
        AntidepressantTrial.objects.filter(drug="venlafaxine").update(drug="agomelatine")
        staging = selectors.consultation_staging(consultation)
        assert staging.adequacy_unknown == ["agomelatine"]
        assert (staging.failed_adequate_trials, staging.treatment_resistant) == (1, False)

    def test_no_failed_trial_is_not_staged(self, doctor, patient, consultation):
        for t in AntidepressantTrial.objects.all():
            services.trial_strike_out(actor=doctor, trial=t, reason="entered in error")
        m = selectors.consultation_staging(consultation).maudsley
        assert (m.total, m.band) == (None, "not staged")

    def test_ect_in_this_episode_scores_on_maudsley(self, doctor, patient, consultation):
        services.prior_treatment_record(
            actor=doctor, patient=patient, kind="ect", outcome="no_response", sessions=12
        )
        assert selectors.consultation_staging(consultation).maudsley.ect == 1


class TestDecision:
    def test_a_physician_signs_and_the_signature_covers_the_content(self, doctor, consultation):
        d = sign(doctor, consultation)
        assert d.signed_by == doctor.user and d.supersedes is None
        assert services.signature_valid(d)
        assert d.snapshot["staging"]["treatment_resistant"] is True
        d.reasons = "something else"
        assert not services.signature_valid(d)
        # Re-signed by someone with the database but not the audit key: still not valid.
        d.signature = hashlib.sha256(services.decision_text(d).encode()).hexdigest()
        assert not services.signature_valid(d)
        event = AuditEvent.objects.get(object_type="screening.candidacydecision")
        assert event.detail == {"decision": "eligible", "supersedes": None}

    def test_a_nurse_cannot_sign(self, nurse, consultation):
        with pytest.raises(ValidationError, match="Only a physician"):
            sign(Actor(user=nurse), consultation)
        assert not CandidacyDecision.objects.exists()

    def test_the_wrong_password_is_refused(self, doctor, consultation):
        with pytest.raises(ValidationError) as err:
            sign(doctor, consultation, password="guess")
        assert "password" in err.value.message_dict
        assert not CandidacyDecision.objects.exists()

    def test_an_absolute_contraindication_blocks_eligibility_for_that_route(self, doctor, consultation):
        services.checklist_record(
            actor=doctor, consultation=consultation, answers=no_findings(uncontrolled_hypertension=True)
        )
        with pytest.raises(ValidationError) as err:
            sign(doctor, consultation, decision="eligible_with_precautions", precautions="BP")
        assert "absolute contraindication" in err.value.message_dict["routes"][0]
        d = sign(
            doctor,
            consultation,
            decision="eligible_with_precautions",
            routes=["esketamine_nasal"],
            precautions="Blood pressure before dosing and at 40 minutes.",
        )
        assert d.routes == ["esketamine_nasal"]

    def test_the_checklist_and_episode_come_first(self, doctor, patient, referral):
        c = services.consultation_start(actor=doctor, patient=patient)
        with pytest.raises(ValidationError) as err:
            sign(doctor, c)
        assert set(err.value.message_dict) == {"checklist", "episode"}

    def test_a_new_decision_supersedes_and_keeps_the_history(self, doctor, consultation):
        first = sign(doctor, consultation)
        second = sign(doctor, consultation, decision="not_eligible", routes=[], reasons="Now pregnant.")
        assert second.supersedes == first
        assert list(CandidacyDecision.objects.current()) == [second]
        assert CandidacyDecision.objects.count() == 2
        assert selectors.current_decision(patient_id=consultation.patient_id) == second

    def test_a_signed_decision_cannot_be_changed_or_deleted(self, doctor, consultation):
        d = sign(doctor, consultation)
        with pytest.raises(DecisionImmutableError):
            d.save()
        with pytest.raises(DecisionImmutableError):
            CandidacyDecision.objects.filter(pk=d.pk).update(reasons="x")
        with pytest.raises(DecisionImmutableError):
            d.delete()

    def test_the_database_refuses_an_update_too(self, doctor, consultation):
        d = sign(doctor, consultation)
        with (
            pytest.raises(Exception, match="cannot be changed"),
            transaction.atomic(),
            connection.cursor() as cur,
        ):
            cur.execute("UPDATE screening_candidacydecision SET reasons = 'x' WHERE id = %s", [d.pk])
        assert CandidacyDecision.objects.get(pk=d.pk).reasons == "TRD, no contraindication."

    def test_two_first_decisions_for_one_patient_are_impossible(self, doctor, consultation):
        first = sign(doctor, consultation)
        clone = CandidacyDecision(
            patient_id=first.patient_id,
            consultation=consultation,
            decision="eligible",
            routes=[],
            reasons="x",
            snapshot={},
            signed_by=first.signed_by,
            signed_at=first.signed_at,
            signature="0" * 64,
        )
        with pytest.raises(IntegrityError), transaction.atomic():
            clone.save()


class TestRequireEligible:
    def test_no_decision_means_no_treatment(self, patient):
        with pytest.raises(ValidationError, match="No candidacy decision"):
            services.require_eligible(patient=patient, route="iv_ketamine")

    def test_only_the_routes_the_current_decision_covers(self, doctor, consultation):
        sign(doctor, consultation)
        patient = consultation.patient
        assert services.require_eligible(patient=patient, route="iv_ketamine").decision == "eligible"
        with pytest.raises(ValidationError, match="does not cover esketamine_nasal"):
            services.require_eligible(patient=patient, route="esketamine_nasal")
        sign(doctor, consultation, decision="not_eligible", routes=[], reasons="Changed")
        with pytest.raises(ValidationError, match="not eligible"):
            services.require_eligible(patient=patient, route="iv_ketamine")


HELD_ON = datetime.date(2025, 6, 15)
# The history checklist as it was before the clinical reference's section 5 additions.
OLD_QUESTIONS = (
    "aneurysmal_vascular_disease",
    "arteriovenous_malformation",
    "intracerebral_haemorrhage",
    "hypersensitivity",
    "uncontrolled_hypertension",
    "cardiovascular_disease",
    "raised_intracranial_pressure",
    "raised_intraocular_pressure",
    "recent_seizures",
    "active_psychosis",
    "active_mania",
    "mania_without_mood_stabiliser",
    "pregnancy",
    "breastfeeding",
    "substance_use_disorder",
    "prior_ketamine_misuse",
    "cannot_abstain_from_alcohol",
    "severe_liver_disease",
    "high_dose_benzodiazepines",
    "maoi",
    "psychostimulants",
    "suicidal_intent_needing_higher_care",
)


def consultation_of(doctor, patient, held_on=HELD_ON, **present):
    """A consultation with the episode recorded and the checklist answered "no" except `present`."""
    c = services.consultation_start(actor=doctor, patient=patient, held_on=held_on)
    services.episode_record(
        actor=doctor, consultation=c, episode_duration_months=18, severity="moderate", augmentation_used=False
    )
    services.checklist_record(actor=doctor, consultation=c, answers=no_findings(**present))
    return c


def iv_findings(consultation):
    staging = selectors.consultation_staging(consultation)
    return [(f.code, f.kind.value) for f in staging.contraindications if f.route == "iv_ketamine"]


class TestAge:
    @pytest.mark.parametrize(
        ("born", "expected"),
        [
            (datetime.date(2007, 6, 16), [("age_under_18", "absolute")]),  # 17 on the day
            (datetime.date(2007, 6, 15), []),  # 18 on the day
            (datetime.date(1960, 6, 16), []),  # 64 on the day
            (datetime.date(1960, 6, 15), [("age_65_or_over", "relative")]),  # 65 on the day
        ],
    )
    def test_age_comes_from_the_date_of_birth_on_the_day_of_the_consultation(
        self, doctor, register, born, expected
    ):
        c = consultation_of(doctor, register(date_of_birth=born))
        assert iv_findings(c) == expected

    def test_a_65_year_old_is_eligible_only_with_precautions(self, doctor, register):
        c = consultation_of(doctor, register(date_of_birth=datetime.date(1950, 1, 1)))
        with pytest.raises(ValidationError) as err:
            sign(doctor, c, routes=["esketamine_nasal"])
        assert err.value.message_dict["decision"] == [
            "Precautions apply (aged 65 or over on the day of the consultation): "
            "choose eligible with precautions."
        ]
        d = sign(
            doctor, c, decision="eligible_with_precautions", routes=["esketamine_nasal"], precautions="Falls."
        )
        assert [f["code"] for f in d.snapshot["staging"]["contraindications"]] == ["age_65_or_over"] * 2

    def test_under_18_rules_out_both_routes_and_nothing_is_signed(self, doctor, register):
        c = consultation_of(doctor, register(date_of_birth=datetime.date(2008, 1, 1)))
        for route in ("iv_ketamine", "esketamine_nasal"):
            with pytest.raises(ValidationError, match="under 18 years old"):
                sign(doctor, c, decision="eligible_with_precautions", routes=[route], precautions="x")
        assert not CandidacyDecision.objects.exists()

    def test_a_clinic_that_enables_iv_under_18_can_sign_iv_but_not_esketamine(
        self, doctor, register, settings, tmp_path
    ):
        path = tmp_path / "rules.json"
        path.write_text('{"contraindications": {"age_under_18": {"iv_ketamine": "none"}}}')
        settings.SCREENING_RULES_FILE = str(path)
        c = consultation_of(doctor, register(date_of_birth=datetime.date(2008, 1, 1)))
        with pytest.raises(ValidationError, match="Esketamine nasal spray: under 18"):
            sign(doctor, c, routes=["esketamine_nasal"])
        assert sign(doctor, c).routes == ["iv_ketamine"]

    def test_age_is_not_answered_on_the_checklist(self, doctor, consultation):
        answers = {**no_findings(), "age_under_18": False, "age_65_or_over": False}
        services.checklist_record(actor=doctor, consultation=consultation, answers=answers)
        consultation.refresh_from_db()
        assert "age_under_18" not in consultation.checklist  # a "no" is ignored, never stored
        before = dict(consultation.checklist)
        with pytest.raises(ValidationError) as err:
            services.checklist_record(
                actor=doctor, consultation=consultation, answers={**no_findings(), "age_65_or_over": True}
            )
        assert err.value.message_dict == {
            "checklist": ["Worked out from the date of birth, not answered: age_65_or_over."]
        }
        consultation.refresh_from_db()
        assert consultation.checklist == before


class TestAddedRules:
    def test_a_new_relative_item_needs_precautions_and_reaches_the_letter(self, doctor, consultation):
        from ketacare.screening.letters import letter_html

        services.checklist_record(
            actor=doctor, consultation=consultation, answers=no_findings(recent_stroke_or_tia=True)
        )
        assert iv_findings(consultation) == [("recent_stroke_or_tia", "relative")]
        with pytest.raises(ValidationError, match="Precautions apply"):
            sign(doctor, consultation)
        assert not CandidacyDecision.objects.exists()
        d = sign(doctor, consultation, decision="eligible_with_precautions", precautions="Neurology review.")
        html = letter_html(d)
        assert (
            '<span class="relative">Relative</span> for IV ketamine: '
            "Stroke or transient ischaemic attack (TIA) in the last 6 months:" in html
        )

    def test_efficacy_notes_never_block_a_plain_eligible_decision(self, doctor, consultation):
        from ketacare.screening.letters import letter_context

        services.checklist_record(
            actor=doctor,
            consultation=consultation,
            answers=no_findings(any_benzodiazepine=True, lamotrigine=True, naltrexone=True),
        )
        d = sign(doctor, consultation, routes=["iv_ketamine", "esketamine_nasal"])
        assert d.decision == "eligible"
        context = letter_context(d)
        assert context["findings"] == []
        assert [(n["code"], n["route_labels"]) for n in context["notes"]] == [
            (code, ["IV ketamine", "Esketamine nasal spray"])
            for code in ("any_benzodiazepine", "lamotrigine", "naltrexone")
        ]

    def test_a_checklist_answered_before_the_new_questions_must_be_completed_before_signing(
        self, doctor, consultation
    ):
        Consultation.objects.filter(pk=consultation.pk).update(checklist=dict.fromkeys(OLD_QUESTIONS, False))
        page = selectors.consultation_page(consultation_id=consultation.pk)
        assert page.unanswered[0] == "History of hypertensive encephalopathy"
        assert len(page.unanswered) == 10
        with pytest.raises(ValidationError) as err:
            sign(doctor, consultation)
        assert err.value.message_dict["checklist"][0].startswith(
            "Answer the history checklist's new questions before signing: History of hypertensive"
        )
        assert not CandidacyDecision.objects.exists()
        services.checklist_record(actor=doctor, consultation=consultation, answers=no_findings())
        assert selectors.consultation_page(consultation_id=consultation.pk).unanswered == []
        assert sign(doctor, consultation).decision == "eligible"
