""""Why am I asked this?": one plain-language reason per interview screen.

Written for the person answering: it says what the answers help to tell, never names a serious
illness the person has not been told about, and never suggests the answer is expected to be yes.
A screen the knowledge base adds later, without a text here, gets its phase's general reason.
"""

from __future__ import annotations

__all__ = ["WHY", "WHY_WHERE", "why_for"]

WHY_WHERE = ("Where the pain is tells us most about where it comes from: the back, the hip, the leg itself or the "
             "blood vessels. So we ask it first.")

WHY: dict[str, str] = {
    "warning_spinal": ("These changes are rare. If one of them is new, the nerves at the bottom of the back may need "
                       "to be checked the same day, so we ask everyone."),
    "warning_limb": ("These describe a leg that needs to be looked at quickly, whatever the cause of the pain. Most "
                     "people tick none of them."),
    "warning_infection_clot": ("A fever, a red warm area or one swollen calf can change how soon you should be seen. "
                               "We ask so that the advice on timing is right."),
    "warning_back_serious": ("With back pain, these tell us whether the back should be checked sooner than usual. "
                             "Most back pain is not serious."),
    "clot_risk": ("You said one calf is swollen. These things make a swollen calf more worth checking soon, so they "
                  "help us give the right timing."),
    "nerve_quality": "Pain that runs in a line or feels electric often comes from an irritated nerve rather than a muscle.",
    "pain_character": "The kind of pain (ache, cramp, sharp spot) helps tell muscles, joints and nerves apart.",
    "sensation": "Changes in feeling show whether a nerve is involved, and which one.",
    "strength": "Weakness helps tell a nerve problem from a muscle or joint problem.",
    "onset": "How the pain started points to a strain, a sudden injury or a slow build-up from use.",
    "course": "How long it has lasted and whether it comes back changes what is likely and what helps.",
    "spinal_provocation": "If back movements, sitting or coughing make the leg pain worse, the pain may start in the back.",
    "walking": "Pain that comes on with walking and what eases it helps tell the back from the blood flow to the legs.",
    "exercise": "Pain linked to running, jumping or a change in training usually comes from overloaded muscles, "
                "tendons or bones.",
    "calf_tendon": "Pain in these moments is typical of a strained muscle or a sore tendon.",
    "standing": "Pain that builds with long standing points to some causes more than others.",
    "local_signs": "Things you can see on the leg help tell an injury or a lump from pain that starts elsewhere.",
    "vascular_risk": "Your general health changes how likely some causes are, for example problems with blood flow.",
    "activity": "What you do every day and for sport changes which causes are common.",
    "feet_weight": "Foot shape, shoes and weight change the load on the feet and legs.",
    "knee": "Earlier knee problems make some causes of pain around the knee more likely.",
    "back_history": "Earlier back trouble makes it more likely that the leg pain starts in the back.",
    "immune": "A weaker immune system changes how quickly an infection should be ruled out.",
}

_PHASE = {
    "warning": ("We ask everyone these few questions first, because each of them needs quick care whatever the cause "
                "of the pain. Most people tick none of them."),
    "history": "Your answers here help tell apart the causes that still fit what you have said.",
    "exam": "These examination findings help tell apart the causes that still fit the history.",
}


def why_for(screen: str, phase: str) -> str:
    return WHY.get(screen) or _PHASE.get(phase, _PHASE["history"])
