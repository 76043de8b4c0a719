"""Invented names, places and identifiers for the synthetic record generator.

Everything here was typed in by hand for synthetic data: forenames and surnames with rough
frequency weights for the naming traditions common among adults known to services in England,
real-looking postcode districts, and tables of nicknames, transliterations and phonetic
respellings. No table was taken from a register of real people. Postcodes and NHS numbers are
drawn at random in the valid shapes.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

import numpy as np

if TYPE_CHECKING:
    import numpy.typing as npt

    ObjArr = npt.NDArray[np.object_]
    IntArr = npt.NDArray[np.int64]

__all__ = [
    "COMMON_NAMES",
    "DISTRICTS",
    "FORENAMES",
    "INWARD_LETTERS",
    "NICKNAMES",
    "ORIGINS",
    "ORIGIN_WEIGHTS",
    "PHONETIC",
    "SUFFIXES",
    "SURNAMES",
    "TITLES",
    "TRANSLITERATIONS",
    "fold_accents",
    "gendered_surname",
    "nhs_check_digit",
    "nhs_numbers",
    "postcodes",
]


def _weights(text: str) -> dict[str, int]:
    """Parse ``"John 60 Ó_Briain 1"`` into ``{"John": 60, "Ó Briain": 1}``."""
    tokens = text.split()
    return {tokens[i].replace("_", " "): int(tokens[i + 1]) for i in range(0, len(tokens), 2)}


def _groups(text: str) -> dict[str, tuple[str, ...]]:
    """Parse ``"A/B/C D/E"`` into a map from each member to the other members of its group."""
    out: dict[str, tuple[str, ...]] = {}
    for group in text.split():
        members = group.split("/")
        for name in members:
            out[name] = tuple(m for m in members if m != name)
    return out


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def _nicknames(text: str) -> dict[str, tuple[str, ...]]:
    """Parse ``"William:Bill/Will Robert:Rob"`` into ``{"William": ("Bill", "Will"), ...}``."""
    pairs = (item.split(":") for item in text.split())
    return {name: tuple(short.split("/")) for name, short in pairs}


ORIGINS: Final = ("british", "irish", "eastern_european", "south_asian", "west_african")
"""Naming traditions; each person's forenames and surname come from one (aliases may not)."""

ORIGIN_WEIGHTS: Final = (0.70, 0.05, 0.07, 0.11, 0.07)

FORENAMES: Final[Mapping[tuple[str, str], dict[str, int]]] = {
    ("british", "M"): _weights("""
        John 60 David 55 Michael 50 Paul 45 James 45 Mark 40 Andrew 38 Christopher 30 Daniel 30
        Peter 30 Richard 28 Robert 28 Stephen 28 Thomas 25 Matthew 25 William 22 Anthony 20
        Lee 20 Gary 18 Steven 18 Craig 15 Jonathan 15 Simon 15 Ian 15 Kevin 15 Martin 14
        Jason 14 Darren 14 Ryan 14 Liam 14 Jack 14 Joshua 14 Adam 14 Neil 12 Wayne 12 Luke 12
        Joseph 12 Dean 10 Carl 10 Scott 10 Jordan 10 Connor 10 Benjamin 10 Samuel 10 George 10
        Nathan 10 Jamie 10 Shaun 8 Charles 8 Edward 8 Alexander 8 Nicholas 8 Kieran 8 Callum 8
        Bradley 8 Aaron 8 Kyle 8 Harry 8 Oliver 8 Alan 8 Philip 8 Ashley 6 Tyler 6 Reece 6
        Charlie 6 Leon 6 Gareth 6 Keith 6 Brian 6 Colin 6 Graham 6 Stuart 6 Tony 6 Danny 6
        Jake 6 Lewis 6 Sean 6 Marcus 5 Dominic 5 Timothy 5 Barry 5 Ethan 5 Alfie 4 Terence 4
        Raymond 4 Henry 4 Kenneth 4 Trevor 4 Derek 4 Russell 4 Billy 4 Elliot 4 Mason 4 Jay 4
        Ricky 4 Frederick 3 Gregory 3 Jeffrey 3 Ronald 3 Dennis 3 Roy 3 Glenn 3 Max 3 Zachary 3
        Tyrone 3 Jerome 3 Delroy 2 Winston 2 Leroy 2 Andre 2 Toby 2 Geoffrey 2 Phillip 2
        Steve 2 Jonathon 2 Karl 2 Louis 2 Marc 2 Bryan 2 Leigh 2 Kieron 2 Aron 1 Reese 1
    """),
    ("british", "F"): _weights("""
        Sarah 45 Emma 35 Claire 30 Lisa 30 Laura 30 Michelle 28 Nicola 28 Rebecca 28 Kelly 25
        Amy 25 Gemma 22 Samantha 22 Hannah 20 Elizabeth 20 Joanne 20 Lauren 20 Jessica 18
        Victoria 18 Louise 18 Rachel 18 Karen 18 Charlotte 18 Sophie 18 Chloe 18 Jennifer 16
        Helen 16 Julie 16 Susan 16 Danielle 16 Natalie 16 Stacey 15 Jade 15 Amanda 14 Tracy 14
        Catherine 12 Donna 12 Angela 12 Leanne 12 Hayley 12 Stephanie 12 Megan 12 Lucy 12
        Katie 12 Kirsty 10 Deborah 10 Sharon 10 Emily 10 Katherine 8 Zoe 8 Jodie 8 Chelsea 8
        Shannon 8 Abigail 8 Olivia 8 Ellie 8 Holly 8 Georgia 8 Bethany 8 Kayleigh 8 Margaret 8
        Christine 8 Linda 8 Maria 8 Alison 8 Dawn 8 Natasha 8 Caroline 8 Kerry 8 Tracey 8
        Kathryn 6 Courtney 6 Paige 6 Amber 6 Jasmine 6 Carly 6 Patricia 6 Janet 6 Tina 6
        Jacqueline 6 Anne 6 Diane 6 Carol 6 Melissa 6 Kimberley 6 Grace 6 Anna 6 Toni 5
        Wendy 5 Abbie 5 Mia 5 Molly 5 Fiona 5 Joanna 5 Ann 4 Tanya 4 Sonia 4 Alice 4 Eleanor 4
        Ruby 4 Sian 4 Rosie 4 Naomi 4 Zoë 3 Keisha 3 Shanice 3 Poppy 3 Clare 3 Rachael 3
        Teresa 3 Marcia 2 Lianne 2 Sara 2 Haley 2 Jody 2 Rebekah 2 Theresa 2 Michele 2
        Alexandra 2 Chloë 1 Renée 1 Debra 2
    """),
    ("irish", "M"): _weights("""
        Patrick 20 Michael 10 Sean 9 Seán 4 Conor 8 John 8 Declan 6 Aidan 6 Kevin 6 Liam 6
        Shane 6 Ciarán 5 Ciaran 5 Niall 5 Brendan 5 Eoin 4 Cian 4 Ronan 4 Pádraig 3 Padraig 3
        Dermot 3 Eamon 3 Darragh 3 Colm 3 Éamon 2 Oisín 2 Fergal 2 Diarmuid 2 Cathal 2 Tadhg 2
        Gerard 3 Francis 3 Thomas 4 Joseph 3 Owen 3 Killian 2
    """),
    ("irish", "F"): _weights("""
        Mary 10 Niamh 8 Aoife 6 Ciara 6 Sinead 6 Siobhán 5 Siobhan 5 Orla 5 Kathleen 5 Róisín 4
        Roisin 4 Sinéad 4 Bridget 4 Aisling 4 Caoimhe 3 Deirdre 3 Maeve 3 Saoirse 3 Teresa 3
        Clodagh 2 Grainne 2 Gráinne 2 Eimear 2 Fionnuala 2 Colette 2 Margaret 3 Catherine 3
        Ann 2 Bernadette 2 Nuala 2
    """),
    ("eastern_european", "M"): _weights("""
        Piotr 10 Tomasz 10 Krzysztof 8 Paweł 8 Michał 8 Marcin 8 Łukasz 8 Jakub 8 Kamil 6
        Mateusz 6 Adam 6 Marek 6 Andrzej 5 Grzegorz 5 Sebastian 5 Bartosz 5 Andrei 5 Mihai 5
        Jan 4 Wojciech 4 Dariusz 4 Aleksander 4 Rafał 4 Artur 4 Mariusz 4 Alexandru 4 Tomas 4
        Pawel 3 Lukasz 3 Jarosław 3 Ionuț 3 Florin 3 Mindaugas 3 Darius 3 Tadeusz 2 Gheorghe 2
        Vasile 2 Jonas 2 Aleksandr 2 Dmitri 2 Vladimir 2 Andrey 1 Dmitry 1
    """),
    ("eastern_european", "F"): _weights("""
        Anna 10 Katarzyna 8 Agnieszka 8 Magdalena 8 Małgorzata 6 Joanna 6 Monika 6 Ewa 6
        Aleksandra 6 Karolina 6 Marta 6 Natalia 6 Justyna 5 Paulina 5 Elena 5 Maria 5 Dorota 4
        Beata 4 Ioana 4 Andreea 4 Gabriela 4 Barbara 3 Kinga 3 Weronika 3 Izabela 3 Alina 3
        Mihaela 3 Laura 3 Malgorzata 2 Zofia 2 Żaneta 2 Rūta 2 Ieva 2 Jurgita 2 Olga 2 Irina 2
    """),
    ("south_asian", "M"): _weights("""
        Mohammed 40 Muhammad 20 Mohammad 10 Mohamed 10 Ali 12 Ahmed 10 Imran 10 Abdul 10
        Hassan 8 Omar 8 Hussain 6 Bilal 6 Tariq 6 Asif 6 Usman 6 Ibrahim 6 Hamza 6 Adnan 5
        Zahid 5 Kamran 5 Shahid 5 Faisal 5 Yusuf 5 Sanjay 5 Amit 5 Rahul 5 Aamir 4 Amir 4
        Ismail 4 Zain 4 Rizwan 4 Nadeem 4 Sajid 4 Arif 4 Raj 4 Rajesh 4 Ravi 4 Anil 4
        Harpreet 4 Gurpreet 4 Arjun 4 Ahmad 3 Waseem 3 Vikram 3 Sunil 3 Deepak 3 Manpreet 3
        Jaspal 3 Sukhdev 3 Suresh 3 Ramesh 3 Vijay 3 Harjit 3 Ranjit 3 Rohan 3 Karan 3 Ayaan 3
        Yousef 2 Umar 2 Aryan 2 Nikhil 2 Muhammed 2 Hussein 1 Emran 1 Osman 2
    """),
    ("south_asian", "F"): _weights("""
        Fatima 12 Ayesha 8 Aisha 8 Maryam 8 Zainab 6 Sana 6 Amina 6 Nadia 6 Yasmin 6 Khadija 6
        Priya 6 Saima 5 Shazia 5 Nasreen 5 Farzana 5 Sadia 5 Rukhsana 4 Shabana 4 Bushra 4
        Samina 4 Rubina 4 Hina 4 Iqra 4 Hafsa 4 Noor 4 Anjali 4 Sunita 4 Kiran 4 Neha 4 Pooja 4
        Parveen 4 Simran 4 Nisha 4 Mariam 3 Deepa 3 Meena 3 Asha 3 Harpreet 3 Gurpreet 3
        Jaspreet 3 Manjit 3 Shamima 3 Taslima 3 Nazia 3 Yasmeen 2 Ruksana 2 Rani 2 Fatimah 1
        Aysha 1
    """),
    ("west_african", "M"): _weights("""
        Emmanuel 10 Samuel 8 Adebayo 6 Kwame 6 Kofi 6 Emeka 6 Daniel 6 David 6 Oluwaseun 5
        Chukwuemeka 5 Chinedu 5 Tunde 5 Femi 5 Michael 5 Joseph 5 Olumide 4 Oluwafemi 4
        Obinna 4 Kwabena 4 Yaw 4 Victor 4 Peter 4 Ibrahim 4 Mohammed 4 Segun 4 Babatunde 4
        Chidi 4 Isaac 4 Babajide 3 Ikenna 3 Kojo 3 Godwin 3 Abdul 3 Ayodele 3 Olusegun 3
        Kehinde 3 Taiwo 3 Uche 3 Nnamdi 3 Ifeanyi 3 Kelechi 3 Tobi 3 Musa 3 Francis 3 Prince 3
        Dapo 2 Ebenezer 2 Gideon 2
    """),
    ("west_african", "F"): _weights("""
        Grace 8 Blessing 8 Chioma 5 Ngozi 5 Nneka 5 Mercy 5 Joy 5 Esther 5 Folasade 4 Yetunde 4
        Abimbola 4 Bukola 4 Chiamaka 4 Amaka 4 Akosua 4 Ama 4 Abena 4 Patience 4 Comfort 4
        Precious 4 Faith 4 Deborah 4 Elizabeth 4 Mary 4 Funmilayo 3 Oluwakemi 3 Adebola 3
        Titilayo 3 Adaeze 3 Ifeoma 3 Efua 3 Adwoa 3 Gift 3 Ruth 3 Taiwo 3 Kehinde 3 Funke 3
        Bisi 3 Tolu 3 Aisha 3 Fatima 3 Hauwa 2
    """),
}

SURNAMES: Final[Mapping[str, dict[str, int]]] = {
    "british": _weights("""
        Smith 120 Jones 90 Williams 70 Taylor 60 Brown 60 Davies 50 Evans 40 Wilson 40
        Thomas 38 Johnson 38 Roberts 36 Robinson 32 Thompson 32 Wright 30 Walker 30 White 28
        Edwards 26 Hughes 26 Green 26 Hall 26 Lewis 26 Harris 26 Clarke 24 Jackson 24 Wood 24
        Turner 22 Martin 22 Cooper 22 Hill 22 Ward 22 Morris 22 Moore 20 Lee 20 King 20
        Baker 20 Harrison 20 Morgan 20 Allen 18 James 18 Scott 18 Phillips 18 Watson 18
        Davis 16 Parker 16 Price 16 Bennett 16 Young 16 Griffiths 16 Mitchell 16 Clark 14
        Kelly 14 Cook 14 Carter 14 Richardson 14 Bailey 14 Collins 14 Bell 14 Shaw 14 Miller 14
        Cox 12 Richards 12 Marshall 12 Anderson 12 Simpson 12 Ellis 12 Adams 12 Wilkinson 10
        Foster 10 Chapman 10 Powell 10 Webb 10 Rogers 10 Gray 10 Mason 10 Hunt 10 Holmes 10
        Mills 10 Owen 10 Palmer 9 Matthews 9 Fletcher 8 Barker 8 Knight 8 Lloyd 8 Butler 8
        Russell 8 Barnes 8 Dixon 8 Lawrence 8 Spencer 8 Pearson 8 Fox 8 Jenkins 8 Campbell 8
        Hart 7 Hunter 7 Atkinson 7 Gibson 7 Cole 7 Graham 7 Thomson 6 Stephenson 6 Stevenson 6
        McDonald 6 Reid 6 Stewart 6 Armstrong 6 Brooks 6 Dawson 6 Burton 6 Andrews 6 Berry 6
        Payne 6 Pearce 6 Watts 6 Henderson 6 Reed 5 Holland 5 Gardner 5 Day 5 Lane 5 Dean 5
        Chambers 5 Hamilton 5 Douglas 5 Francis 5 Grant 5 Webster 5 Booth 5 Parry 5 Rees 5
        Hopkins 5 MacDonald 4 Morrison 4 Ferguson 4 Fraser 4 Gordon 4 Barrett 4 Higgins 4
        Grey 3 McKenzie 3 Mackenzie 3 Hirst 3 Hurst 3 Neal 3 Allan 3 Stuart 3 Samuels 3 Bryan 3
        Forbes 3 McLean 3 Sinclair 3 Dickson 3 Greene 2 Browne 2 Cooke 2 Philips 2 Smyth 2
        Smith-Jones 2 Taylor-Brown 1 Jones-Davies 1 Hughes-Williams 1 Clarke-Hall 1
        Baker-Wilson 1 Evans-Thomas 1 Harris-Moore 1 Ward-Jackson 1 Cooper-Green 1
        Hall-Turner 1 Lewis-Price 1 Owen-Jones 1
    """),
    "irish": _weights("""
        Murphy 20 Kelly 18 O'Brien 14 Byrne 12 Ryan 12 O'Connor 12 Walsh 12 O'Sullivan 10
        McCarthy 10 Doyle 10 O'Neill 10 Gallagher 8 Doherty 8 Kennedy 8 Lynch 8 Murray 8
        Collins 8 Quinn 6 Moore 6 McLaughlin 6 Connolly 6 Brennan 6 Burke 6 Campbell 6 Clarke 6
        Hughes 6 O'Donnell 5 Daly 5 Reilly 5 Farrell 5 Fitzgerald 5 McGrath 4 Duffy 4 Keane 4
        Kavanagh 4 Maguire 4 Nolan 4 Flynn 4 Sheridan 3 Ó_Briain 1
    """),
    "eastern_european": _weights("""
        Nowak 12 Kowalski 10 Wiśniewski 8 Wójcik 8 Kowalczyk 8 Lewandowski 7 Kamiński 6
        Zieliński 6 Szymański 6 Woźniak 6 Dąbrowski 6 Popescu 6 Kozłowski 5 Jankowski 5
        Mazur 5 Krawczyk 5 Popa 5 Piotrowski 4 Grabowski 4 Dumitru 4 Ionescu 4 Nowakowski 3
        Pawłowski 3 Michalski 3 Król 3 Wieczorek 3 Jabłoński 3 Wróbel 3 Zając 3 Stan 3
        Stoica 3 Constantin 3 Kazlauskas 3 Munteanu 2 Jankauskas 2 Petrauskas 2 Wojcik 2
        Kowalczyk-Nowak 1
    """),
    "south_asian": _weights("""
        Khan 40 Patel 40 Ali 25 Singh 25 Ahmed 22 Hussain 20 Shah 12 Akhtar 10 Iqbal 10
        Rahman 10 Malik 10 Kumar 10 Mahmood 8 Chaudhry 8 Sharma 8 Gill 8 Islam 8 Uddin 8
        Miah 8 Qureshi 6 Butt 6 Rashid 6 Hassan 6 Sandhu 6 Siddiqui 5 Chowdhury 5 Aslam 5
        Javed 5 Sheikh 5 Sidhu 5 Dhillon 5 Mistry 5 Mehta 5 Mohammed 5 Choudhury 4 Riaz 4
        Mirza 4 Bains 4 Desai 4 Joshi 4 Ahmad 4 Nawaz 4 Anwar 4 Hussein 3 Yusuf 3 Rehman 3
    """),
    "west_african": _weights("""
        Okafor 8 Adeyemi 8 Mensah 8 Owusu 8 Okonkwo 6 Okeke 6 Eze 6 Adebayo 6 Asante 6 Boateng 6
        Osei 6 Nwosu 5 Obi 5 Afolabi 5 Balogun 5 Appiah 5 Ogunleye 4 Olawale 4 Bakare 4
        Akinola 4 Adewale 4 Agyeman 4 Addo 4 Ansah 4 Bello 4 Ibrahim 4 Okoro 4 Chukwu 4 Ojo 4
        Kamara 4 Ogunbiyi 3 Oyewole 3 Oladipo 3 Darko 3 Abubakar 3 Nwachukwu 3 Adeleke 3
        Mohammed 3 Sesay 3 Conteh 3 Koroma 3 Jalloh 3 Diallo 3 Oyelaran 2 Danjuma 2 Uzor 2
        Bangura 2 Ndiaye 2
    """),
}

NICKNAMES: Final = _nicknames("""
    William:Bill/Will/Billy/Liam Elizabeth:Liz/Beth/Lizzie/Betty Jonathan:Jon/Jonny
    Robert:Rob/Bob/Bobby/Robbie Thomas:Tom/Tommy Margaret:Maggie/Peggy/Meg Michael:Mike/Mick/Mikey
    David:Dave/Davey James:Jim/Jimmy/Jamie Richard:Rich/Rick/Richie/Dick Christopher:Chris/Kit
    Daniel:Dan/Danny Stephen:Steve Steven:Steve Matthew:Matt Andrew:Andy/Drew Anthony:Tony/Ant
    Joseph:Joe/Joey Samuel:Sam/Sammy Benjamin:Ben/Benny Alexander:Alex/Sandy Nicholas:Nick/Nicky
    Edward:Ed/Eddie/Ted Charles:Charlie/Chas Peter:Pete Philip:Phil Timothy:Tim Kenneth:Ken/Kenny
    Gregory:Greg Jeffrey:Jeff Geoffrey:Geoff Terence:Terry Raymond:Ray Frederick:Fred/Freddie
    Henry:Harry/Hal Joshua:Josh Nathan:Nate Zachary:Zach Ronald:Ron/Ronnie Patrick:Pat/Paddy
    Gareth:Gaz Gary:Gaz Darren:Daz Bradley:Brad Callum:Cal Alan:Al Dominic:Dom Jacob:Jake
    Sarah:Sally/Sal Rebecca:Becky/Becca Samantha:Sam/Sammy Victoria:Vicky/Tori Jennifer:Jen/Jenny
    Catherine:Cathy/Kate/Cat Katherine:Kate/Kathy/Katie Kathryn:Kate/Kath Deborah:Debbie/Deb
    Patricia:Pat/Trish/Patsy Christine:Chris/Chrissie Jacqueline:Jackie Susan:Sue/Susie
    Amanda:Mandy Stephanie:Steph Abigail:Abbie/Abi Alexandra:Alex Nicola:Nicky/Nikki
    Jessica:Jess Charlotte:Charlie/Lottie Natalie:Nat Natasha:Tash/Tasha Kimberley:Kim
    Michelle:Shell Joanne:Jo Joanna:Jo Helen:Nell Danielle:Dani Eleanor:Ellie/Nell
    Caroline:Caz Louise:Lou Teresa:Tess Kathleen:Kath/Kathy Bridget:Bridie Megan:Meg Emily:Em
    Gemma:Gem Olivia:Liv Katarzyna:Kasia Małgorzata:Gosia Aleksandra:Ola Magdalena:Magda
    Agnieszka:Aga Krzysztof:Krzys Wojciech:Wojtek Aleksander:Olek Tomasz:Tomek/Tom Jakub:Kuba
    Piotr:Peter Michał:Michael Paweł:Paul Oluwaseun:Seun Olumide:Mide Oluwafemi:Femi
    Babatunde:Tunde Olusegun:Segun Chukwuemeka:Emeka Oluwakemi:Kemi Folasade:Sade/Shade
    Funmilayo:Funmi/Funke Abimbola:Bimbo Titilayo:Titi Adebayo:Bayo Ayodele:Ayo
    Mohammed:Mo Muhammad:Mo Ibrahim:Ibby Rajesh:Raj Vikram:Vic Sukhdev:Sukh Harjit:Harry
    Pádraig:Paddy Siobhán:Shiv Diarmuid:Dermot
""")
"""Forename -> short forms people are known by (English, Polish, Yoruba and Igbo, South Asian)."""

TRANSLITERATIONS: Final = _groups("""
    Mohammed/Muhammad/Mohamed/Mohammad/Muhammed Ahmed/Ahmad Yusuf/Yousef/Yusef/Yousuf
    Aleksander/Alexander/Aleksandr Hussain/Hussein/Husain Hassan/Hasan
    Mahmood/Mehmood/Mahmud Aisha/Ayesha/Aysha Fatima/Fatimah Maryam/Mariam Khadija/Khadijah
    Yasmin/Yasmeen Usman/Osman/Uthman Abdul/Abdel Ibrahim/Ebrahim Ismail/Ismael Zainab/Zaynab
    Amina/Aminah Omar/Umar Hamza/Hamzah Bilal/Belal Tariq/Tarik Imran/Emran Nasreen/Nasrin
    Parveen/Perveen/Parvin Rukhsana/Ruksana Andrei/Andrey Dmitri/Dmitry Aleksandra/Alexandra
    Chaudhry/Choudhury/Chowdhury/Chaudhary Rahman/Rehman Qureshi/Quraishi/Kureshi
    Siddiqui/Siddiqi Akhtar/Akhter Sheikh/Shaikh Miah/Mia Uddin/Udin
""")
"""Each spelling -> the other romanisations of the same name."""

PHONETIC: Final = _groups("""
    Phillips/Philips Stephenson/Stevenson McDonald/MacDonald Thompson/Thomson/Tomson
    Smith/Smyth Reid/Reed/Read Clark/Clarke Gray/Grey Davies/Davis Mackenzie/McKenzie
    Matthews/Mathews Hurst/Hirst Neal/Neil/Neill Brown/Browne Green/Greene Cook/Cooke
    Moore/Muir Stewart/Stuart Allan/Allen Johnson/Jonson Griffiths/Griffith Lloyd/Loyd
    Kelly/Kelley Harris/Harriss Pearce/Pierce/Pearse Jenkins/Jenkyns Dixon/Dickson
    Fraser/Frazer/Frazier Rees/Reece/Reese Powell/Powel Campbell/Cambell Simpson/Simson
    Nowak/Novak Kowalski/Kovalski Murphy/Murphey Byrne/Burn McCarthy/MacCarthy Mensah/Mensa
    Stephen/Steven Catherine/Katherine/Kathryn Geoffrey/Jeffrey Philip/Phillip
    Sean/Shaun/Shawn Jonathan/Jonathon Anne/Ann Claire/Clare Rachel/Rachael Leanne/Lianne
    Zoe/Zoey Tracy/Tracey Kerry/Kerrie Lee/Leigh Carl/Karl Lewis/Louis Mark/Marc
    Sarah/Sara Hayley/Haley Kayleigh/Kayley Jodie/Jody Abbie/Abby Kirsty/Kirstie
    Brian/Bryan Michelle/Michele Natalie/Nathalie Aaron/Aron Kieran/Kieron
    Ashley/Ashleigh Rebecca/Rebekah Deborah/Debra Teresa/Theresa Kimberley/Kimberly
    Carly/Carley Chelsea/Chelsey Jade/Jayde Isaac/Isaak
""")
"""Each spelling -> spellings that sound the same (surnames first, then forenames)."""

DISTRICTS: Final = _words(
    """
    LS6 LS7 LS8 LS9 LS11 LS12 LS14 M8 M9 M11 M12 M13 M14 M16 M18 M21 M40 B6 B8 B9 B10 B11 B12
    B19 B20 B21 B23 B33 SW2 SW9 SW16 SE1 SE5 SE15 SE18 SE28 E1 E2 E6 E13 E17 N15 N17 N18 NW10
    W10 W12 L4 L5 L6 L8 L11 L13 S2 S5 S9 BD3 BD5 BD7 BD8 NE4 NE6 NE15 SR4 SR5 NG1 NG3 NG7 LE1
    LE2 LE4 CV1 CV2 CV6 WV1 WV10 ST1 ST6 BS2 BS5 BS13 PL1 PL2 HU3 HU8 DN1 DN4 OL1 OL8 BL1 BL3
    WN5 PR1 BB1 BB2 DE22 DE23 LU1 LU2 MK6 PE1 NR3 IP3 CB4 OX4 RG1 SO14 PO1 BN2 TS1 TS3 DL1 CA2
    LA1 WF1 HD1 HX1 YO10 LN1 SK1 CH1 WA5 TF3 HR1 GL1 EX4 TQ1 TR1 SN1 BH1 CT9 ME7 DA1 RM8 IG1
    EN3 HA0 UB3 CR0
"""
)
"""Outward codes shaped like real English postcode districts."""

INWARD_LETTERS: Final = "ABDEFGHJLNPQRSTUWXYZ"
"""Letters allowed in the last two places of a UK inward code (no C, I, K, M, O, V)."""

TITLES: Final[Mapping[str, tuple[str, ...]]] = {"M": ("Mr",), "F": ("Mrs", "Miss", "Ms")}

SUFFIXES: Final = ("Jr", "Jnr")

COMMON_NAMES: Final = (
    ("John", "Smith", "M", "british"),
    ("David", "Jones", "M", "british"),
    ("Michael", "Smith", "M", "british"),
    ("David", "Smith", "M", "british"),
    ("James", "Brown", "M", "british"),
    ("Paul", "Williams", "M", "british"),
    ("Mark", "Taylor", "M", "british"),
    ("Sarah", "Smith", "F", "british"),
    ("Emma", "Jones", "F", "british"),
    ("Lisa", "Brown", "F", "british"),
    ("Mohammed", "Khan", "M", "south_asian"),
    ("Mohammed", "Ali", "M", "south_asian"),
    ("Mohammed", "Hussain", "M", "south_asian"),
    ("Amit", "Patel", "M", "south_asian"),
    ("Fatima", "Khan", "F", "south_asian"),
    ("Priya", "Patel", "F", "south_asian"),
    ("Sean", "Murphy", "M", "irish"),
    ("Piotr", "Nowak", "M", "eastern_european"),
    ("Anna", "Nowak", "F", "eastern_european"),
    ("Emmanuel", "Mensah", "M", "west_african"),
)
"""(forename, surname, sex, origin) of very common full names, for the ``common_name`` pairs."""

# Letters that carry no combining mark in Unicode, so NFKD alone would keep them.
_FOLD_EXTRA: Final = str.maketrans({"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "ß": "ss"})


def fold_accents(text: str) -> str:
    """Drop diacritics the way many case-management systems do: Wójcik -> Wojcik, Zoë -> Zoe."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD_EXTRA))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def gendered_surname(surname: str, sex: str) -> str:
    """Return the form of a surname for a person of ``sex`` (Polish -ski/-ska, Sikh Singh/Kaur)."""
    if sex == "F":
        if surname == "Singh":
            return "Kaur"
        if surname.endswith(("ski", "cki", "dzki")):
            return surname[:-1] + "a"
    elif sex == "M":
        if surname == "Kaur":
            return "Singh"
        if surname.endswith(("ska", "cka", "dzka")):
            return surname[:-1] + "i"
    return surname


def postcodes(rng: np.random.Generator, k: int, outward: ObjArr | None = None) -> ObjArr:
    """Real-looking postcodes ("LS6 4AB"), in new districts unless ``outward`` is given."""
    if outward is None:
        outward = rng.choice(np.array(DISTRICTS, dtype=object), size=k)
    digits = rng.integers(0, 10, size=k).tolist()
    letters = rng.integers(0, len(INWARD_LETTERS), size=(k, 2)).tolist()
    abc = INWARD_LETTERS
    codes = zip(outward.tolist(), digits, letters, strict=True)
    return np.array([f"{o} {d}{abc[a]}{abc[b]}" for o, d, (a, b) in codes], dtype=object)


def nhs_check_digit(body: IntArr) -> IntArr:
    """NHS modulus-11 check digit of 9-digit bodies: weights 10..2; 11 -> 0; 10 is invalid."""
    total = sum((body // 10 ** (8 - i) % 10) * (10 - i) for i in range(9))
    check = 11 - total % 11
    return np.where(check == 11, 0, check).astype(np.int64)


def nhs_numbers(rng: np.random.Generator, k: int) -> ObjArr:
    """``k`` distinct 10-digit NHS numbers starting with 9 (not issued to patients), valid."""
    found = np.empty(0, dtype=np.int64)
    while found.size < k:
        body = rng.integers(900_000_000, 1_000_000_000, size=(k - found.size) * 11 // 10 + 16)
        check = nhs_check_digit(body)
        found = np.concatenate([found, (body * 10 + check)[check != 10]])
        _, first = np.unique(found, return_index=True)
        found = found[np.sort(first)]
    return found[:k].astype(str).astype(object)
