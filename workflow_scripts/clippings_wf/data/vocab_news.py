"""Vocabulary of mid-20th-century US wire-photo captions (the news_wire benchmark; used by clippings_wf.data.captions).

A wire story is an event template: the titles its people hold, two or three lead sentences a wire editor could have
written for a photo of it, and detail sentences. Slots in braces are filled from the event (captions._slots):
{a} {b} {c} people with titles ("Mayor John A. Smith"), {a_s} {b_s} {c_s} the same on second reference
("Mayor Smith"), {city}, {place} ("Hartford, Conn."), {street}, {name} (a surname naming a firm, ship, school or
horse), {small} (a number word, 2-9), {nth} (its ordinal), {tens} (ten times it, "40"), {score} ("7 to 3"),
{crowd} ("2,500"), {money} ("$250,000"), {age}, {date} ("March 3"). Every caption names the first person: in
each template either every lead has {a} or every detail has. A person is named in full once, then by
captions.second_reference.

The rest is what a newspaper changed when it printed the wire's caption: synonyms, headline kickers, passive
rephrasings of "X greets Y", credit lines.
"""

# AP style of the period (before 1987): short states are spelled out.
STATES = {
    "Alabama": "Ala.", "Alaska": "Alaska", "Arizona": "Ariz.", "Arkansas": "Ark.", "California": "Calif.",
    "Colorado": "Colo.", "Connecticut": "Conn.", "Delaware": "Del.", "Florida": "Fla.", "Georgia": "Ga.",
    "Hawaii": "Hawaii", "Idaho": "Idaho", "Illinois": "Ill.", "Indiana": "Ind.", "Iowa": "Iowa", "Kansas": "Kan.",
    "Kentucky": "Ky.", "Louisiana": "La.", "Maine": "Maine", "Maryland": "Md.", "Massachusetts": "Mass.",
    "Michigan": "Mich.", "Minnesota": "Minn.", "Mississippi": "Miss.", "Missouri": "Mo.", "Montana": "Mont.",
    "Nebraska": "Neb.", "Nevada": "Nev.", "New Hampshire": "N.H.", "New Jersey": "N.J.", "New Mexico": "N.M.",
    "New York": "N.Y.", "North Carolina": "N.C.", "North Dakota": "N.D.", "Ohio": "Ohio", "Oklahoma": "Okla.",
    "Oregon": "Ore.", "Pennsylvania": "Pa.", "Rhode Island": "R.I.", "South Carolina": "S.C.",
    "South Dakota": "S.D.", "Tennessee": "Tenn.", "Texas": "Tex.", "Utah": "Utah", "Vermont": "Vt.",
    "Virginia": "Va.", "Washington": "Wash.", "West Virginia": "W.Va.", "Wisconsin": "Wis.", "Wyoming": "Wyo.",
}  # fmt: skip

# The state of each of vocab_en.PLACES (the paper's cities, and half the events' places).
CITY_STATES = {
    "Hartford": "Connecticut", "Pittsburgh": "Pennsylvania", "Detroit": "Michigan", "Toledo": "Ohio",
    "Akron": "Ohio", "Dayton": "Ohio", "Buffalo": "New York", "Cleveland": "Ohio", "Chicago": "Illinois",
    "Boston": "Massachusetts", "Newark": "New Jersey", "Trenton": "New Jersey", "Lowell": "Massachusetts",
    "Worcester": "Massachusetts", "Providence": "Rhode Island", "Baltimore": "Maryland", "Richmond": "Virginia",
    "Atlanta": "Georgia", "Memphis": "Tennessee", "Louisville": "Kentucky", "Cincinnati": "Ohio",
    "Milwaukee": "Wisconsin", "Minneapolis": "Minnesota", "Omaha": "Nebraska", "Denver": "Colorado",
    "Portland": "Oregon", "Seattle": "Washington", "Oakland": "California", "Houston": "Texas", "Dallas": "Texas",
    "Tulsa": "Oklahoma", "Birmingham": "Alabama", "Scranton": "Pennsylvania", "Reading": "Pennsylvania",
    "Allentown": "Pennsylvania", "Syracuse": "New York", "Rochester": "New York", "Albany": "New York",
    "Bridgeport": "Connecticut", "Springfield": "Illinois",
}  # fmt: skip

STREETS = (
    "Main Street", "Elm Street", "Market Street", "Broad Street", "State Street", "Front Street", "Water Street",
    "Church Street", "High Street", "Chestnut Street", "Maple Avenue", "Washington Avenue", "Grand Avenue",
    "Lincoln Avenue", "Park Avenue", "River Road", "Mill Street", "Center Street",
)  # fmt: skip

MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November",
    "December",
)  # fmt: skip
# Datelines abbreviate the long months (AP style).
DATELINE_MONTHS = ("Jan.", "Feb.", "March", "April", "May", "June", "July", "Aug.", "Sept.", "Oct.", "Nov.", "Dec.")
NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ORDINALS = ("zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth")

# Role -> the titles a person in it is named with ("" = no title, as men were usually named).
TITLES = {
    "official": ("Mayor", "Gov.", "Commissioner", "Judge"),
    "mayor": ("Mayor",),
    "lawmaker": ("Sen.", "Rep.", "Gov."),
    "chief": ("Police Chief", "Fire Chief", "Sheriff"),
    "officer": ("Lt.", "Capt.", "Maj.", "Col.", "Gen.", "Adm."),
    "enlisted": ("Pvt.", "Pfc.", "Cpl.", "Sgt.", "Seaman"),
    "woman": ("Mrs.", "Miss"),
    "mrs": ("Mrs.",),
    "miss": ("Miss",),
    "clergy": ("Rev.", "Msgr."),
    "doctor": ("Dr.",),
    "coach": ("Coach",),
    "person": ("",),
    "actress": ("",),
    "man": ("",),
}
# Share of women among a role's people; the other roles are men.
FEMALE_SHARE = {"official": 0.1, "lawmaker": 0.15, "doctor": 0.15, "person": 0.35, "woman": 1.0, "mrs": 1.0,
                "miss": 1.0, "actress": 1.0}  # fmt: skip
# Second reference keeps the title, shortened where AP shortened it ("Police Chief John Smith" -> "Chief Smith").
SHORT_TITLES = {"Police Chief": "Chief", "Fire Chief": "Chief"}

# key -> roles of {a} {b} {c}, leads (one is the caption's first sentence), details (one or two follow it).
TEMPLATES = {
    "greeting": dict(
        roles=("official", "lawmaker"),
        leads=(
            "{a} greets {b} at the {city} railway station.",
            "{b} arrives at the {city} railway station, where {a} greets the visitor.",
            "{a} shakes hands with {b} on the station platform at {place}.",
        ),
        details=(
            "{b_s} is on a speaking tour of the state.",
            "A crowd of about {crowd} persons waited on the platform.",
            "The two posed for photographers before leaving for City Hall.",
            "{b_s} will address the Chamber of Commerce tonight.",
            "It was the first visit to {city} by {b_s} in {small} years.",
        ),
    ),
    "arrival": dict(
        roles=("lawmaker", "official"),
        leads=(
            "{a} arrives at the {city} airport for a two-day visit.",
            "{a} steps from a plane at the {city} airport, waving to the crowd.",
            "{a} lands in {place}, aboard an airliner from Washington.",
        ),
        details=(
            "{b} was among those on hand to meet the plane.",
            "About {crowd} persons lined the field.",
            "{a_s} told reporters the trip was not political.",
            "{a_s} will speak at a Democratic dinner tonight.",
            "The visit had been put off twice because of bad weather.",
        ),
    ),
    "flood": dict(
        roles=("official", "person"),
        leads=(
            "Flood waters cover {street} in {place}, after the river rose {small} feet overnight.",
            "Residents of {place}, row boats along {street} as the flood reaches the business district.",
            "High water swirls around homes along {street} in {city}.",
        ),
        details=(
            "{a} said about {crowd} persons were driven from their homes.",
            "{a} ordered the evacuation of the low sections of {city}.",
            "Red Cross workers and {a} set up shelters in schools and churches.",
            "{a} estimated the damage at more than {money}.",
            "{a} said the crest was expected by morning.",
        ),
    ),
    "fire": dict(
        roles=("chief", "person"),
        leads=(
            "Firemen battle a fire that destroyed the {name} Furniture Co. warehouse in {place}.",
            "Flames shoot from the roof of the {name} Building on {street} in {city}.",
            "Smoke pours from a {city} warehouse as firemen fight a {small}-alarm fire.",
        ),
        details=(
            "{a} said the loss would exceed {money}.",
            "{a} said the cause of the fire was not known.",
            "{b}, a night watchman, turned in the alarm, {a} said.",
            "{a} said {small} firemen were overcome by smoke.",
            "Companies from {small} towns answered the call, {a} reported.",
        ),
    ),
    "parade": dict(
        roles=("mayor", "enlisted"),
        leads=(
            "{a} leads the Memorial Day parade down {street} in {place}.",
            "Crowds line {street} as {a} heads the Memorial Day parade in {city}.",
            "{a} reviews marchers in the Memorial Day parade at {place}.",
        ),
        details=(
            "More than {crowd} spectators watched.",
            "{b}, a veteran of two wars, carried the colors.",
            "Bands from {small} high schools took part.",
            "The parade ended with ceremonies at the war memorial.",
            "Gold Star mothers rode in open cars.",
        ),
    ),
    "ship_launch": dict(
        roles=("mrs", "man"),
        leads=(
            "{a} breaks a bottle of champagne across the bow of the S.S. {name} at {place}.",
            "{a} christens the new tanker S.S. {name} at the {city} shipyard.",
            "The freighter S.S. {name} slides down the ways at {place}, after {a} christened the ship.",
        ),
        details=(
            "{b}, president of the builders, presented {a_s} with roses.",
            "About {crowd} shipyard workers watched the launching.",
            "The ship will carry oil between Gulf ports and New England.",
            "{a_s} is the wife of a director of the line.",
            "It is the {nth} ship launched at the yard this year.",
        ),
    ),
    "strike": dict(
        roles=("man", "official"),
        leads=(
            "{a}, union leader, talks with pickets outside the {name} Steel Co. plant in {place}.",
            "Pickets led by {a} march before the gates of the {name} plant in {city}.",
            "{a} addresses striking workers at the {name} Steel Co. in {place}.",
        ),
        details=(
            "About {crowd} workers walked out {date}.",
            "{b}, the federal mediator, will meet both sides tomorrow.",
            "The union asks a raise of {small} cents an hour.",
            "Company officials said the plant would remain closed.",
            "The strike is in its {nth} day.",
        ),
    ),
    "harvest": dict(
        roles=("man",),
        leads=(
            "{a} inspects his wheat crop on his farm near {place}.",
            "{a} drives a combine through a field of wheat near {city}.",
            "Threshing is in full swing on the farm of {a} near {place}.",
        ),
        details=(
            "{a_s} said the yield would be the best in {small} years.",
            "Farmers in the county expect a record crop.",
            "Rains last month came just in time, {a_s} said.",
            "{a_s}, {age}, has worked the land since boyhood.",
            "Extra hands were hired to bring in the crop before the rains.",
        ),
    ),
    "wedding": dict(
        roles=("miss", "man", "clergy"),
        leads=(
            "{a} and {b} leave the church after their wedding in {place}.",
            "The bride, the former {a}, cuts the cake with {b} after their wedding in {city}.",
            "{a} smiles at {b} after their wedding at {place}.",
        ),
        details=(
            "The couple will live in {city}.",
            "{c} performed the ceremony.",
            "More than {crowd} guests attended the reception.",
            "The bride is a graduate of {name} College.",
            "The couple will honeymoon in Florida.",
        ),
    ),
    "baseball": dict(
        roles=("man", "man"),
        leads=(
            "{a} slides safely into home plate ahead of the tag by {b} in the {nth} inning at {city}.",
            "{a} connects for a home run as {b} looks on from behind the plate at {city}.",
            "{a} of the {city} team is tagged out at second base by {b}.",
        ),
        details=(
            "The {city} team won the game, {score}.",
            "A crowd of {crowd} watched the game.",
            "It was the {nth} straight victory for the club.",
            "{b_s} argued the call but the umpire was firm.",
            "The victory put {city} in first place in the league.",
        ),
    ),
    "football": dict(
        roles=("man", "coach"),
        leads=(
            "{a} of {name} High carries the ball around end for a touchdown at {city}.",
            "{a} breaks through the line for a long gain in the game at {place}.",
            "{a}, {name} High halfback, is hauled down after a gain at {city}.",
        ),
        details=(
            "{name} High won the game, {score}.",
            "{b} called it the best game of the season.",
            "A crowd of {crowd} sat through a cold rain.",
            "The victory gave {name} High the conference title.",
            "{a_s} scored {small} touchdowns this season.",
        ),
    ),
    "boxing": dict(
        roles=("man", "man"),
        leads=(
            "{a} lands a right to the jaw of {b} in their bout at {city}.",
            "{a} stands over {b} after a knockdown in the {nth} round at {place}.",
            "{a} and {b} mix it up in the main event at the {city} arena.",
        ),
        details=(
            "{a_s} won the decision.",
            "A crowd of {crowd} saw the fight.",
            "{b_s} had won his last {small} fights.",
            "The bout was scheduled for ten rounds.",
            "{a_s} now faces the champion next month.",
        ),
    ),
    "golf": dict(
        roles=("person", "person"),
        leads=(
            "{a} watches a putt drop on the final green of the {city} open.",
            "{a} blasts out of a sand trap on the {nth} hole at the {city} Country Club.",
            "{a} receives the trophy after winning the {city} open golf tournament.",
        ),
        details=(
            "{a_s} finished {small} strokes ahead of {b}.",
            "The gallery numbered about {crowd}.",
            "The winner's share was {money}.",
            "{b} finished second.",
            "It was the first tournament victory for {a_s}.",
        ),
    ),
    "horse_race": dict(
        roles=("man", "person"),
        leads=(
            "Jockey {a} guides {name}'s Pride across the finish line at the {city} track.",
            "{name}'s Pride, with {a} up, wins the feature race at {place}.",
            "{a} brings {name}'s Pride home by {small} lengths at the {city} track.",
        ),
        details=(
            "The horse is owned by {b}.",
            "A crowd of {crowd} was on hand.",
            "The horse has won {money} in purses this year.",
            "It was the {nth} victory of the season for {a_s}.",
            "The race was run over a muddy track.",
        ),
    ),
    "tornado": dict(
        roles=("official", "person"),
        leads=(
            "Residents of {place}, survey the wreckage of homes after a tornado struck the town.",
            "A tornado left this trail of wreckage along {street} in {city}.",
            "Only the chimney stands where a home stood on {street} in {place}, after the tornado.",
        ),
        details=(
            "{a} said {small} persons were injured.",
            "{a} said the twister destroyed {crowd} homes.",
            "{a} asked the governor for National Guard help.",
            "{a} estimated the damage at {money}.",
            "{b}, whose home was destroyed, was pulled from the wreckage unhurt, {a} said.",
        ),
    ),
    "blizzard": dict(
        roles=("official", "person"),
        leads=(
            "Cars lie buried in snow on {street} in {place}, after a blizzard swept the state.",
            "A {city} snowplow clears {street} after a storm dropped {small} inches of snow.",
            "Shovelers dig out {street} in {city} after the worst storm of the winter.",
        ),
        details=(
            "{a} said schools would remain closed tomorrow.",
            "{a} called out all city crews to clear the streets.",
            "{a} said {small} deaths were blamed on the storm.",
            "Trains were hours late, {a} reported.",
            "{a} said drifts reached {small} feet.",
        ),
    ),
    "hurricane": dict(
        roles=("official", "person"),
        leads=(
            "Waves batter the sea wall at {place}, as a hurricane moves up the coast.",
            "Boats lie piled on the shore at {place}, after the hurricane.",
            "Trees lie across {street} in {city} after hurricane winds swept the town.",
        ),
        details=(
            "{a} said {crowd} persons fled to higher ground.",
            "{a} estimated the damage at {money}.",
            "{a} said power was out in most of {city}.",
            "{a} reported that winds reached {tens} miles an hour.",
            "{b} rode out the storm in a church, {a} said.",
        ),
    ),
    "car_accident": dict(
        roles=("person", "chief"),
        leads=(
            "Wreckage of the car in which {a} was injured lies beside the highway near {place}.",
            "{a} is lifted into an ambulance after a car accident on {street} in {city}.",
            "{a} escaped with cuts when this car overturned on {street} in {place}.",
        ),
        details=(
            "{b} said the car skidded on wet pavement.",
            "{a_s}, {age}, was taken to the {city} hospital.",
            "Two passengers were hurt, {b} said.",
            "The driver of the truck was not injured.",
            "{b} said the car was traveling at high speed.",
        ),
    ),
    "train_wreck": dict(
        roles=("man", "official"),
        leads=(
            "Derailed cars of a freight train lie beside the tracks near {place}.",
            "Wrecking crews work to clear the tracks after a train wreck at {city}.",
            "A locomotive lies on its side after the wreck near {place}.",
        ),
        details=(
            "{a}, the engineer, was injured.",
            "{a}, the fireman, jumped to safety.",
            "{a}, the conductor, said the cause was being investigated.",
            "{a}, a brakeman, said {small} cars left the tracks.",
            "{a} said the line would be open by morning.",
        ),
    ),
    "plane_landing": dict(
        roles=("man", "official"),
        leads=(
            "Pilot {a} stands beside his plane after an emergency landing in a field near {place}.",
            "{a} climbs from the cockpit after landing his crippled plane at {city}.",
            "{a} brought this plane down safely in a pasture near {place}.",
        ),
        details=(
            "No one was hurt.",
            "{a_s} said an engine failed soon after takeoff.",
            "{b} praised the pilot for saving the {small} passengers.",
            "The plane was bound for Chicago.",
            "Farmers ran to help the passengers from the plane.",
        ),
    ),
    "mine_rescue": dict(
        roles=("man", "official"),
        leads=(
            "Rescue workers carry {a} from the mine at {place}.",
            "{a} is brought to the surface after {small} days trapped in a mine near {city}.",
            "Miner {a} smiles after rescue from a coal mine near {place}.",
        ),
        details=(
            "{a_s} had been trapped since {date}.",
            "{b} directed the rescue.",
            "Rescuers said {small} other miners were still missing.",
            "Wives of the miners waited at the pit head all night.",
            "{a_s}, {age}, is the father of {small} children.",
        ),
    ),
    "medal": dict(
        roles=("enlisted", "officer"),
        leads=(
            "{b} pins the Silver Star on {a} at ceremonies at {place}.",
            "{a} receives the Bronze Star from {b} at {place}.",
            "{b} decorates {a} for bravery in a ceremony at {city}.",
        ),
        details=(
            "{a_s} was cited for rescuing {small} wounded men in battle.",
            "{a_s}, {age}, is a native of {city}.",
            "The parents of {a_s} watched the ceremony.",
            "{a_s} served {small} months in Korea.",
            "The regiment passed in review after the ceremony.",
        ),
    ),
    "homecoming": dict(
        roles=("enlisted", "mrs"),
        leads=(
            "{a} is greeted by his mother, {b}, on his return to {place}.",
            "{b} greets her son, {a}, home from the war at the {city} station.",
            "{a} embraces his mother, {b}, on his arrival at {place}.",
        ),
        details=(
            "{a_s} spent {small} months in a prison camp.",
            "{a_s} was listed as missing in action last year.",
            "Friends and neighbors met the train.",
            "{a_s}, {age}, plans to return to his job at the {name} plant.",
            "A parade will welcome {a_s} home tomorrow.",
        ),
    ),
    "beauty_queen": dict(
        roles=("miss", "mayor"),
        leads=(
            "{a} is crowned Queen of the {city} festival by {b}.",
            "{a}, {age}, smiles after winning the title of Miss {city}.",
            "{b} crowns {a} queen of the {city} harvest festival.",
        ),
        details=(
            "{a_s} will compete for the state title next month.",
            "{a_s} is a secretary at the {name} Co.",
            "There were {small} girls in the pageant.",
            "The queen received a scholarship of {money}.",
            "{a_s} will reign over the festival parade tomorrow.",
        ),
    ),
    "county_fair": dict(
        roles=("person",),
        leads=(
            "{a} shows the grand champion steer at the county fair at {place}.",
            "{a} holds the blue ribbon won by a prize heifer at the {city} fair.",
            "{a} grooms a calf before judging at the fair in {place}.",
        ),
        details=(
            "The steer sold for {money}.",
            "{a_s}, {age}, is a member of the 4-H club.",
            "More than {crowd} persons attended the fair.",
            "{a_s} raised the animal on the family farm.",
            "It was the {nth} prize for {a_s} this year.",
        ),
    ),
    "spelling_bee": dict(
        roles=("person", "woman"),
        leads=(
            "{a}, 12, of {place}, spells the winning word in the state spelling bee.",
            "{a} of {city} receives the spelling bee trophy from {b}.",
            "{a} smiles after winning the spelling bee at {place}.",
        ),
        details=(
            "The winning word was a hard one.",
            "{a_s} outlasted {tens} other spellers.",
            "{a_s} will compete in the national bee in Washington.",
            "{b}, teacher of {a_s}, coached the winner.",
            "The bee lasted {small} hours.",
        ),
    ),
    "election": dict(
        roles=("lawmaker", "mrs"),
        leads=(
            "{a} and family celebrate victory at campaign headquarters in {place}.",
            "{a} waves to supporters after winning the election at {city}.",
            "{a} reads the returns with {b} at home in {place}.",
        ),
        details=(
            "{a_s} won by about {crowd} votes.",
            "{a_s} carried {small} of the state's counties.",
            "Supporters cheered until the early morning.",
            "{a_s} promised lower taxes.",
            "{b}, the candidate's wife, managed the campaign office.",
        ),
    ),
    "campaign": dict(
        roles=("lawmaker",),
        leads=(
            "{a} speaks from the rear platform of a train at {place}.",
            "{a} addresses a rally in the square at {city}.",
            "{a} shakes hands with voters on {street} in {city}.",
        ),
        details=(
            "About {crowd} persons heard the speech.",
            "{a_s} attacked the record of the administration.",
            "{a_s} made {small} stops in the state today.",
            "Bands played as the train pulled in.",
            "{a_s} spoke for twenty minutes.",
        ),
    ),
    "trial": dict(
        roles=("person", "official"),
        leads=(
            "{a} leaves the courthouse at {place}, after the jury returned its verdict.",
            "{a} is led from the courtroom in {city} after sentencing.",
            "{a} talks with attorneys during the trial at {place}.",
        ),
        details=(
            "{b} set sentence for next week.",
            "The jury deliberated {small} hours.",
            "{a_s}, {age}, was accused of embezzling {money}.",
            "{a_s} denied the charges.",
            "The courtroom was crowded with spectators.",
        ),
    ),
    "robbery": dict(
        roles=("man", "chief"),
        leads=(
            "{a} is booked at police headquarters in {place}, after a bank robbery.",
            "Officers lead {a} from the {name} National Bank in {city}.",
            "{a}, captured after a holdup, is questioned by police at {place}.",
        ),
        details=(
            "{b} said the robber took {money}.",
            "{b} said the money was recovered.",
            "Police caught {a_s} {small} blocks from the bank.",
            "{a_s}, {age}, was held in lieu of bond.",
            "No one was hurt in the holdup.",
        ),
    ),
    "sea_rescue": dict(
        roles=("person", "officer"),
        leads=(
            "Coast Guardsmen help {a} aboard their cutter off {place}.",
            "{a} is hauled from the water by a Coast Guard crew off {city}.",
            "{a} reaches shore at {place}, after {small} hours adrift.",
        ),
        details=(
            "{b} commanded the cutter.",
            "{a_s} was fishing when the boat capsized.",
            "The Coast Guard also saved {small} companions.",
            "{a_s} clung to an overturned boat through the night.",
            "The rescue came {small} miles offshore.",
        ),
    ),
    "polio_vaccine": dict(
        roles=("doctor", "person"),
        leads=(
            "{a} gives polio vaccine to {b}, a first grader, at a {city} school.",
            "{b} winces as {a} gives a polio shot at {place}.",
            "{a} inoculates {b} at the start of the polio vaccine program in {city}.",
        ),
        details=(
            "About {crowd} children will receive the vaccine this week.",
            "{b_s} was the first pupil in the county to get a shot.",
            "Parents signed permission slips for the shots.",
            "{a_s} directs the county health department.",
            "A second shot will be given in {small} weeks.",
        ),
    ),
    "factory_opening": dict(
        roles=("man", "official"),
        leads=(
            "{a} cuts the ribbon to open the new {name} plant in {place}.",
            "{a}, company president, shows {b} through the new {name} plant at {city}.",
            "{b} congratulates {a} at the opening of the {name} plant in {place}.",
        ),
        details=(
            "The plant will employ {crowd} workers.",
            "The factory cost {money}.",
            "{a_s} said production would begin next month.",
            "The plant will make parts for automobiles.",
            "{b_s} called it a great day for {city}.",
        ),
    ),
    "ground_breaking": dict(
        roles=("official", "clergy"),
        leads=(
            "{a} turns the first shovel of earth for the new {city} hospital.",
            "{a} breaks ground for a new high school at {place}.",
            "{a} and {b} take part in ground-breaking ceremonies at {place}.",
        ),
        details=(
            "The building will cost {money}.",
            "{b} gave the blessing.",
            "The building will be finished in {small} months.",
            "About {crowd} persons attended the ceremony.",
            "{a_s} said the building was long overdue.",
        ),
    ),
    "bridge_dedication": dict(
        roles=("lawmaker", "mayor"),
        leads=(
            "{a} cuts the ribbon to open the new bridge at {place}.",
            "{a} and {b} lead the first cars across the new river bridge at {city}.",
            "{a} dedicates the {name} Memorial Bridge at {place}.",
        ),
        details=(
            "The bridge cost {money}.",
            "The span is {small} hundred feet long.",
            "{b} called the bridge a link between two states.",
            "A crowd of {crowd} watched the ceremony.",
            "The bridge replaces a ferry that ran for {tens} years.",
        ),
    ),
    "bond_rally": dict(
        roles=("woman", "mayor"),
        leads=(
            "{a} sells the first war bond of the drive to {b} at {place}.",
            "{b} buys a war bond from {a} at a rally in {city}.",
            "{a} urges {city} to buy bonds at a rally on {street}.",
        ),
        details=(
            "The city's quota is {money}.",
            "About {crowd} persons attended the rally.",
            "An Army band played.",
            "{a_s} will visit {small} cities on the tour.",
            "The drive ends next month.",
        ),
    ),
    "blood_drive": dict(
        roles=("woman", "doctor"),
        leads=(
            "{a} gives a pint of blood at the Red Cross center in {place}.",
            "{a} is the first donor at the {city} blood bank.",
            "{a} smiles as {b} takes her blood at the {city} Red Cross.",
        ),
        details=(
            "The chapter hopes for {crowd} pints.",
            "{b} is in charge of the center.",
            "{a_s} has given {small} pints.",
            "The blood will go to servicemen overseas.",
            "Donors received coffee and doughnuts.",
        ),
    ),
    "independence_day": dict(
        roles=("mayor", "person"),
        leads=(
            "{a} reads the Declaration of Independence at the Fourth of July ceremonies in {place}.",
            "Fireworks light the sky over {city} as {a} opens the Fourth of July celebration.",
            "{a} rings the old bell on the Fourth of July at {place}.",
        ),
        details=(
            "About {crowd} persons attended the ceremonies.",
            "{b}, the oldest resident of {city}, was honored.",
            "A band concert followed.",
            "Picnics filled the park.",
            "It was the {nth} annual celebration.",
        ),
    ),
    "toy_drive": dict(
        roles=("chief", "person"),
        leads=(
            "{a} collects toys for needy children at the {city} firehouse.",
            "{a} and {b} pile Christmas toys for needy families at {place}.",
            "{a} hands a doll to {b} at the {city} toy drive.",
        ),
        details=(
            "More than {crowd} toys were given.",
            "Firemen repaired the old toys.",
            "{a_s} said {small} hundred families would be helped.",
            "The toys will be handed out Christmas Eve.",
            "Merchants gave {money} to the drive.",
        ),
    ),
    "school_opening": dict(
        roles=("woman", "person"),
        leads=(
            "{a} greets pupils on the first day of school at {place}.",
            "{a} leads first graders into the new {name} School in {city}.",
            "{a} helps {b} find a seat on the first day of school at {place}.",
        ),
        details=(
            "About {crowd} pupils enrolled in {city}.",
            "{a_s} has taught for {small} years.",
            "The new school has {small} classrooms.",
            "Some of the children cried.",
            "Parents stayed for the first hour.",
        ),
    ),
    "winter_carnival": dict(
        roles=("woman", "mayor"),
        leads=(
            "{a} skates across the ice at the winter carnival in {place}.",
            "{a} glides on the lake at the {city} winter carnival.",
            "{a} carves a snow statue at the {city} winter carnival.",
        ),
        details=(
            "About {crowd} persons attended.",
            "{b} opened the carnival.",
            "The temperature was {small} below zero.",
            "A torchlight parade closed the carnival.",
            "{a_s} won the figure skating event.",
        ),
    ),
    "heat_wave": dict(
        roles=("person", "official"),
        leads=(
            "{a} cools off in a fountain in {place}, as the heat wave continues.",
            "Children splash in the spray of a hydrant on {street} in {city} with {a}.",
            "{a} fries an egg on the sidewalk on {street} in {place}.",
        ),
        details=(
            "The mercury passed 100 degrees for the {nth} day.",
            "{b} opened the city pools at night.",
            "The heat was blamed for {small} deaths.",
            "Stores sold out of fans.",
            "No relief is in sight.",
        ),
    ),
    "drought": dict(
        roles=("man", "official"),
        leads=(
            "{a} looks over his parched corn field near {place}.",
            "{a} surveys a dry pond on his farm near {city}.",
            "{a} examines cracked soil on his farm near {place}, during the drought.",
        ),
        details=(
            "No rain has fallen in {small} weeks.",
            "{b} asked the governor for drought relief.",
            "The crop loss may reach {money}.",
            "{a_s} had to sell {small} head of cattle.",
            "Farmers held a prayer meeting for rain.",
        ),
    ),
    "actress": dict(
        roles=("actress", "mayor"),
        leads=(
            "Actress {a} arrives at {place}, for the opening of her new picture.",
            "{a}, screen star, is greeted by {b} at the {city} station.",
            "{a} signs autographs for fans on her arrival in {place}.",
        ),
        details=(
            "{a_s} will appear at the {name} Theater tonight.",
            "About {crowd} fans met the train.",
            "{b} presented the key to the city.",
            "{a_s} is a native of {city}.",
            "The tour will take {a_s} to {small} cities.",
        ),
    ),
    "anniversary": dict(
        roles=("man", "mrs"),
        leads=(
            "{a} and {b} cut a cake on their golden wedding anniversary at {place}.",
            "{a} kisses {b} on their fiftieth wedding anniversary at their home in {city}.",
            "{a} and {b} celebrate fifty years of marriage at {place}.",
        ),
        details=(
            "The couple have {small} children.",
            "They were married in {city}.",
            "About {crowd} friends called during the day.",
            "{a_s} is a retired railroad man.",
            "The couple have lived in the same house since they were married.",
        ),
    ),
    "troopship": dict(
        roles=("officer", "enlisted"),
        leads=(
            "Soldiers crowd the rail of the troopship as it docks at {place}.",
            "{a} leads troops down the gangplank at {place}.",
            "Troops wave from the troopship as it arrives at {city}, led by {a}.",
        ),
        details=(
            "{a} commanded the troops.",
            "About {crowd} soldiers were aboard, {a} said.",
            "{b} was the first man down the gangplank, {a} said.",
            "{a} said the men had spent {small} months overseas.",
            "A band greeted the ship, and {a} saluted.",
        ),
    ),
    "explosion": dict(
        roles=("man", "chief"),
        leads=(
            "Smoke rises from the {name} chemical plant at {place}, after an explosion.",
            "Firemen search the ruins of the {name} plant in {city} after a blast.",
            "The blast at the {name} plant in {place}, blew out windows for blocks.",
        ),
        details=(
            "{a} and {b} said {small} workers were injured.",
            "{a}, plant manager, said the cause was not known.",
            "{a} said the damage would exceed {money}.",
            "{a} said {crowd} workers were sent home.",
            "{a}, a foreman, helped carry injured men out.",
        ),
    ),
    "swearing_in": dict(
        roles=("official", "official"),
        leads=(
            "{b} swears in {a} at the capitol in {place}.",
            "{a} takes the oath of office from {b} at ceremonies in {place}.",
            "{b} administers the oath to {a} at {city} City Hall.",
        ),
        details=(
            "{a_s} succeeds a man who held the office {small} years.",
            "The wife of {a_s} held the Bible.",
            "About {crowd} persons attended.",
            "{a_s} promised economy in government.",
            "A reception followed.",
        ),
    ),
}

# Words a copy desk swaps for one another; a phrase belongs to one group only, longer phrases win.
SYNONYMS = (
    ("greets", "welcomes", "meets"), ("greeted", "welcomed", "met"), ("arrives at", "reaches"),
    ("lands in", "arrives in", "flies into"),
    ("flood waters", "rising waters"), ("flood", "high water"), ("crowd", "throng"), ("spectators", "onlookers"),
    ("persons", "people"), ("fire", "blaze"), ("firemen", "fire fighters"), ("destroyed", "wrecked", "leveled"),
    ("parade", "procession"), ("marchers", "paraders"), ("smiles", "beams", "grins"), ("ship", "vessel"),
    ("strike", "walkout"), ("pickets", "strikers"), ("workers", "employees", "workmen"), ("crop", "harvest"),
    ("farmers", "growers"), ("wedding", "marriage"), ("team", "club", "squad"), ("game", "contest"),
    ("victory", "win"), ("accident", "crash", "mishap"), ("injured", "hurt"), ("car", "automobile", "auto"),
    ("cars", "automobiles", "autos"), ("ceremonies", "exercises", "rites"), ("officials", "authorities"),
    ("children", "youngsters"), ("residents", "townspeople"), ("homes", "houses"),
    ("about", "some", "nearly"), ("more than", "upward of"), ("storm", "gale"), ("tornado", "twister"),
    ("wreckage", "debris", "ruins"), ("plant", "factory"), ("tonight", "this evening"), ("said", "reported"),
    ("inspects", "examines", "looks over"), ("visit", "trip"), ("reporters", "newsmen"),
    ("photographers", "cameramen"), ("airport", "airfield"), ("plane", "craft"), ("soldiers", "troops"),
    ("town", "community"), ("celebrate", "mark"), ("receives", "accepts"), ("trophy", "cup"),
)  # fmt: skip

# Transitive verbs of leads a copy desk turned around: "X greets Y at ..." -> "Y is greeted by X at ...".
PASSIVES = {
    "greets": "greeted", "welcomes": "welcomed", "meets": "met", "congratulates": "congratulated",
    "crowns": "crowned", "decorates": "decorated", "swears in": "sworn in", "kisses": "kissed",
    "inoculates": "inoculated", "embraces": "embraced",
}  # fmt: skip

# Headline kickers a paper put before (or instead of) the wire's lead, by a word of the caption; GENERIC otherwise.
KICKERS = (
    (("flood", "high water"), ("HIGH WATER:", "RIVER ON A RAMPAGE —", "WATER, WATER EVERYWHERE —")),
    (("firemen", "flames", "blaze", "blast", "smoke"), ("SPECTACULAR BLAZE —", "FIRE!", "SMOKE AND FLAMES:")),
    (("tornado", "hurricane", "storm", "snow"), ("STORM'S WAKE:", "NATURE ON THE LOOSE —", "AFTER THE STORM:")),
    (("wreck", "accident", "overturned", "landing", "adrift", "mine"), ("CLOSE CALL —", "LUCKY TO BE ALIVE:")),
    (("wedding", "anniversary", "bride"), ("WEDDING BELLS —", "HAPPY DAY:", "TILL DEATH DO US PART —")),
    (("parade", "fourth of july", "carnival", "fireworks"), ("ON PARADE —", "GALA DAY:", "HOLIDAY SPIRIT —")),
    (("s.s.", "tanker", "freighter"), ("DOWN THE WAYS —", "NEW SHIP:", "CHRISTENING:")),
    (("strik", "pickets"), ("ON THE LINE —", "WALKOUT:", "LABOR TROUBLE —")),
    (("harvest", "crop", "farm", "fair", "wheat"), ("BUMPER CROP:", "DOWN ON THE FARM —", "BLUE RIBBON —")),
    (("home plate", "base", "home run", "ball", "bout", "jaw", "putt", "golf", "track", "touchdown"),
     ("WINNER!", "SPORTS PARADE —", "THE BIG PLAY:")),
    (("election", "rally", "voters", "oath", "supporters"), ("ON THE STUMP —", "VICTORY SMILE:", "POLITICS:")),
    (("silver star", "bronze star", "bravery", "troop", "soldiers", "war", "his return"),
     ("FOR VALOR —", "WELCOME HOME:", "SALUTE —")),
    (("polio", "blood"), ("SHOT IN THE ARM —", "GOOD CAUSE:")),
)  # fmt: skip
GENERIC_KICKERS = ("SMILES FOR THE CAMERA —", "IN THE NEWS —", "PICTURE OF THE DAY:", "NEWS IN PICTURES:",
                   "BIG DAY —", "HOMETOWN NEWS:")  # fmt: skip

# Wire services' credit lines, as papers printed them under a photo.
CREDITS = ("(AP Wirephoto)", "(UP Telephoto)", "(Acme Newspictures)", "(NEA Telephoto)", "(INS Photo)",
           "(AP Photo)", "(UPI Telephoto)")  # fmt: skip
