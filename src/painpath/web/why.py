""""Why am I asked this?": one plain-language reason per interview screen.

Written for the person answering: it says what the answers help to tell, never names a serious
illness the person has not been told about, and never suggests the answer is expected to be yes.
A screen the knowledge base adds later, without a text here, gets its phase's general reason.
"""

from __future__ import annotations

__all__ = ["WHY", "WHY_WHERE", "why_for"]


def N_(text: str) -> str:  # noqa: N802 - marks text for extraction; translated where it is shown
    return text


WHY_WHERE = N_("Where the pain is tells us most about where it comes from: the back, the hip, the leg itself or "
               "the blood vessels. So we ask it first.")

WHY: dict[str, str] = {
    "warning_spinal": N_("These changes are rare. If one of them is new, the nerves at the bottom of the back may "
                         "need to be checked the same day, so we ask everyone."),
    "warning_limb": N_("These describe a leg that needs to be looked at quickly, whatever the cause of the pain. "
                       "Most people tick none of them."),
    "warning_infection_clot": N_("A fever, a red warm area or one swollen calf can change how soon you should be "
                                 "seen. We ask so that the advice on timing is right."),
    "warning_injury": N_("After a fall or a twist, being able to walk tells us whether the leg should be checked "
                         "today."),
    "warning_severe_pain": N_("After what you have said, pain far worse than expected changes how soon the leg should "
                              "be checked."),
    "warning_joint": N_("A swollen joint can change how soon it should be looked at, so we ask before anything "
                        "else."),
    "warning_back_serious": N_("With back pain, these tell us whether the back should be checked sooner than "
                               "usual. Most back pain is not serious."),
    "clot_risk": N_("You said one calf is swollen. These things make a swollen calf more worth checking soon, so "
                    "they help us give the right timing."),
    "nerve_quality": N_("Pain that runs in a line or feels electric often comes from an irritated nerve rather than "
                        "a muscle."),
    "pain_character": N_("The kind of pain (ache, cramp, sharp spot) helps tell muscles, joints and nerves apart."),
    "sensation": N_("Changes in feeling show whether a nerve is involved, and which one."),
    "strength": N_("Weakness helps tell a nerve problem from a muscle or joint problem."),
    "onset": N_("How the pain started points to a strain, a sudden injury or a slow build-up from use."),
    "course": N_("How long it has lasted and whether it comes back changes what is likely and what helps."),
    "spinal_provocation": N_("If back movements, sitting or coughing make the leg pain worse, the pain may start in "
                             "the back."),
    "walking": N_("Pain that comes on with walking, and what eases it, helps tell the back from the blood flow to "
                  "the legs."),
    "exercise": N_("Pain linked to running, jumping or a change in training usually comes from overloaded muscles, "
                   "tendons or bones."),
    "calf_tendon": N_("Pain in these moments is typical of a strained muscle or a sore tendon."),
    "standing": N_("Pain that builds with long standing points to some causes more than others."),
    "local_signs": N_("Things you can see on the leg help tell an injury or a lump from pain that starts "
                      "elsewhere."),
    "vascular_risk": N_("Your general health changes how likely some causes are, for example problems with blood "
                        "flow."),
    "activity": N_("What you do every day and for sport changes which causes are common."),
    "feet_weight": N_("Foot shape, shoes and weight change the load on the feet and legs."),
    "knee": N_("Earlier knee problems make some causes of pain around the knee more likely."),
    "back_history": N_("Earlier back trouble makes it more likely that the leg pain starts in the back."),
    "immune": N_("A weaker immune system changes how quickly an infection should be ruled out."),
    "knee_symptoms": N_("How the knee behaves helps tell worn joint surfaces, a caught cartilage and a sore kneecap "
                        "apart."),
    "hip_side": N_("Stiffness and pain when lying on one side help tell the hip joint from the tendons beside it."),
    "thigh_nerve": N_("Burning or numbness on the outer thigh can come from a small skin nerve being pressed."),
    "veins": N_("What the veins look like and how the legs feel by evening help tell vein problems from other "
                "causes."),
    "joint_history": N_("Earlier joint problems or treatment change which causes of a painful joint are likely."),
    "cramps": N_("Sudden cramps that pass in minutes have their own common, harmless causes."),
}

_PHASE = {
    "warning": N_("We ask everyone these few questions first, because each of them needs quick care whatever the "
                  "cause of the pain. Most people tick none of them."),
    "history": N_("Your answers here help tell apart the causes that still fit what you have said."),
    "exam": N_("These examination findings help tell apart the causes that still fit the history."),
}


def why_for(screen: str, phase: str) -> str:
    return WHY.get(screen) or _PHASE.get(phase, _PHASE["history"])
