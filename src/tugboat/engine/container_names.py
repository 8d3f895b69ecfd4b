"""Container names: Docker's generated "adjective_surname" names and the name rules.

The word lists are copied from moby's pkg/namesgenerator/names-generator.go
(Apache License 2.0, Copyright Docker, Inc.), because users recognise these names
and scripts sometimes parse them.  Upstream's comment on the surnames list reads:
"Docker, starting from 0.7.x, generates names from notable scientists and hackers.
Please, for any amazing man that you add to the list, consider adding an equally
amazing woman to it, and vice versa."  See upstream for the note on each person.
"""

import random
import re

from tugboat.errors import InvalidArgument

LEFT = (
    "admiring adoring affectionate agitated amazing angry awesome beautiful blissful bold boring brave busy "
    "charming clever cool compassionate competent condescending confident cranky crazy dazzling determined "
    "distracted dreamy eager ecstatic elastic elated elegant eloquent epic exciting fervent festive flamboyant "
    "focused friendly frosty funny gallant gifted goofy gracious great happy hardcore heuristic hopeful hungry "
    "infallible inspiring intelligent interesting jolly jovial keen kind laughing loving lucid magical "
    "mystifying modest musing naughty nervous nice nifty nostalgic objective optimistic peaceful pedantic "
    "pensive practical priceless quirky quizzical recursing relaxed reverent romantic sad serene sharp silly "
    "sleepy stoic strange stupefied suspicious sweet tender thirsty trusting unruffled upbeat vibrant vigilant "
    "vigorous wizardly wonderful xenodochial youthful zealous zen"
).split()

RIGHT = (
    "agnesi albattani allen almeida antonelli archimedes ardinghelli aryabhata austin babbage banach banzai "
    "bardeen bartik bassi beaver bell benz bhabha bhaskara black blackburn blackwell bohr booth borg bose "
    "bouman boyd brahmagupta brattain brown buck burnell cannon carson cartwright carver cerf chandrasekhar "
    "chaplygin chatelet chatterjee chaum chebyshev clarke cohen colden cori cray curran curie darwin davinci "
    "dewdney dhawan diffie dijkstra dirac driscoll dubinsky easley edison einstein elbakyan elgamal elion "
    "ellis engelbart euclid euler faraday feistel fermat fermi feynman franklin gagarin galileo galois "
    "ganguly gates gauss germain goldberg goldstine goldwasser golick goodall gould greider grothendieck "
    "haibt hamilton haslett hawking hellman heisenberg hermann herschel hertz heyrovsky hodgkin hofstadter "
    "hoover hopper hugle hypatia ishizaka jackson jang jemison jennings jepsen johnson joliot jones kalam "
    "kapitsa kare keldysh keller kepler khayyam khorana kilby kirch knuth kowalevski lalande lamarr lamport "
    "leakey leavitt lederberg lehmann lewin lichterman liskov lovelace lumiere mahavira margulis matsumoto "
    "maxwell mayer mccarthy mcclintock mclaren mclean mcnulty mendel mendeleev meitner meninsky merkle "
    "mestorf mirzakhani montalcini moore morse murdock moser napier nash neumann newton nightingale nobel "
    "noether northcutt noyce panini pare pascal pasteur payne perlman pike poincare poitras proskuriakova "
    "ptolemy raman ramanujan ride ritchie rhodes robinson roentgen rosalind rubin saha sammet sanderson "
    "satoshi shamir shannon shaw shirley shockley shtern sinoussi snyder solomon spence stonebraker "
    "sutherland swanson swartz swirles taussig tesla tharp thompson torvalds tu turing varahamihira vaughan "
    "villani visvesvaraya volhard wescoff wilbur wiles williams williamson wilson wing wozniak wright wu "
    "yalow yonath zhukovsky"
).split()

_VALID = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")
_rand = random.SystemRandom()


def random_name(retry: int = 0) -> str:
    """moby's GetRandomName: a digit is appended on retries after a collision."""
    while True:
        name = f"{_rand.choice(LEFT)}_{_rand.choice(RIGHT)}"
        if name != "boring_wozniak":  # Steve Wozniak is not boring
            break
    if retry > 0:
        name += str(_rand.randrange(10))
    return name


def normalize(name: str) -> str:
    """Validate a user-given name and return it with its leading "/" (dockerd's stored form)."""
    if not _VALID.match(name):
        raise InvalidArgument(
            f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
    return name if name.startswith("/") else "/" + name
