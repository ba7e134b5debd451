//! The 2017 défis of the seed document (the organisers' own list), the site each one is run
//! at in the demo (its holder's territory), and their themes.

/// A theme of the seed: one of the 7 grandes mutations (by a keyword of its id), or a theme
/// the seed adds (by its label, created at the site).
#[derive(Debug, Clone, Copy)]
pub enum SeedTheme {
    Mutation(&'static str),
    Extra(&'static str),
}

use SeedTheme::{Extra, Mutation};

#[derive(Debug, Clone, Copy)]
pub struct SeedDefi {
    pub number: u32,
    pub site: &'static str,
    pub question: &'static str,
    pub themes: &'static [SeedTheme],
    /// (name, role)
    pub holders: &'static [(&'static str, &'static str)],
    pub facilitators: &'static [&'static str],
}

/// The demo's sites: (id, name, country, partner).
pub const SITES: [(&str, &str, &str, bool); 5] = [
    ("cluny", "Cluny", "FR", false),
    ("volvic", "Volvic", "FR", false),
    ("macon", "Mâcon", "FR", false),
    ("coventry", "Coventry", "GB", true),
    ("kehl", "Kehl", "DE", true),
];

pub const DEFIS: &[SeedDefi] = &[
    SeedDefi {
        number: 1,
        site: "volvic",
        question: "Comment créer les conditions managériales pour permettre de développer l'attractivité de Volvic ?",
        themes: &[Mutation("reformes"), Extra("Identité territoriale")],
        holders: &[("Myriam Lavigne", "DGS de Cluny")],
        facilitators: &["Laurence Meslier", "Yvonne Foucher"],
    },
    SeedDefi {
        number: 2,
        site: "cluny",
        question: "Comment « re-designer » la fonction accueil de l'hôtel de Ville de Cluny selon les usages attendus (physique, téléphonique, numérique) ?",
        themes: &[Mutation("qualite")],
        holders: &[("Isabelle Menesplier", "DGS Volvic")],
        facilitators: &["Equipe Bourgogne"],
    },
    SeedDefi {
        number: 3,
        site: "macon",
        question: "Comment élargir et circonscrire le spectre des utilisations possibles du bus de la médiation pour renforcer le lien social et la présence du service public dans les QPV de l'agglomération de Mâcon ?",
        themes: &[Mutation("cohesion")],
        holders: &[("Frédéric Rétrif", "responsable Mission animation urbaine")],
        facilitators: &["Equipe Bourgogne"],
    },
    SeedDefi {
        number: 4,
        site: "cluny",
        question: "Comment engager l'ensemble des citoyens dans une démarche territoire à énergie positive ?",
        themes: &[Mutation("ecologiques")],
        holders: &[
            (
                "Jean-Luc Delpeuch",
                "président de la Communauté urbaine de clunisois",
            ),
            (
                "Marie-Chloé Strecker",
                "chargée de mission démarche participative",
            ),
        ],
        facilitators: &["Noémie Bernard", "Olivier Causse"],
    },
    SeedDefi {
        number: 5,
        site: "macon",
        question: "Quelle vision partagée de l'innovation et quelle stratégie pour installer un baromètre de l'innovation dans le paysage institutionnel et en faire un levier durable pour réinterroger nos modes d'organisation et de management ?",
        themes: &[Mutation("qualite")],
        holders: &[("Stéphane Bernard", "Eglise")],
        facilitators: &["Philippe Gambier", "Pierre Avoine"],
    },
    SeedDefi {
        number: 7,
        site: "volvic",
        question: "L'école des cadres de demain pour manager autrement.",
        themes: &[Mutation("qualite")],
        holders: &[("Françoise Belet", "cheffe de projet, CR Ile de France")],
        // The seed names three; the model takes one or two facilitators.
        facilitators: &["Bernadette Guillaud", "Bénédicte Richoux"],
    },
    SeedDefi {
        number: 8,
        site: "macon",
        question: "Comment prototyper et essayer l'événement « La petite fabrique de projets arts, culture et développement social local » ?",
        themes: &[Extra("Lutte contre les exclusions")],
        holders: &[
            ("Roland Giraud", "dga Département Pas de Calais"),
            (
                "Laure Descamps",
                "directrice culture, sport, jeunesse Département de la Drôme",
            ),
        ],
        facilitators: &["Marion Leroux", "Mireille Pillais"],
    },
    SeedDefi {
        number: 9,
        site: "cluny",
        question: "Comment les nouvelles formes d'entrepreneuriat réinventent le service public ?",
        themes: &[
            Mutation("ecologiques"),
            Mutation("numeriques"),
            Mutation("democratie"),
            Mutation("qualite"),
        ],
        holders: &[(
            "Matthieu Marchal",
            "designer, les Chaudronneries (Montreuil 93)",
        )],
        facilitators: &["Lionel Roux", "Martine Bahay"],
    },
    SeedDefi {
        number: 10,
        site: "coventry",
        question: "Quels modes collaboratifs entre différentes instances politiques suite à la création d'une collectivité supra communale ?",
        themes: &[Mutation("reformes")],
        holders: &[("Mme Auluck", "élue à Coventry")],
        facilitators: &["Benoit Cathala"],
    },
    SeedDefi {
        number: 11,
        site: "volvic",
        question: "Maison de la citoyenneté et de l'innovation : comment former par l'action et en pluri-acteurs les acteurs (publics) locaux pour redéployer leurs compétences ?",
        themes: &[Mutation("democratie"), Mutation("qualite")],
        holders: &[("Joe Spiegel", "maire de Kingersheim")],
        facilitators: &["Isabelle Cazaunau"],
    },
    SeedDefi {
        number: 12,
        site: "cluny",
        question: "Comment apprendre ensemble entre pairs dans le cadre d'un réseau social d'apprentissage et d'un MOOC sur l'innovation publique collaborative ?",
        themes: &[Mutation("qualite")],
        holders: &[("Sandrine Barret", "cheffe de projet, CNFPT")],
        facilitators: &["Olivier Ryckewaert"],
    },
    SeedDefi {
        number: 13,
        site: "macon",
        question: "Comment mettre en œuvre une démarche d'ouverture des données publiques de la Ville de Lille coproduite avec les acteurs du territoire ?",
        themes: &[Mutation("numeriques"), Mutation("cohesion")],
        holders: &[(
            "Camille Julien",
            "chargée de mission usages numériques, Ville de Lille",
        )],
        facilitators: &["Serge Catanese Valentin"],
    },
    SeedDefi {
        number: 15,
        site: "volvic",
        question: "Comment composer un lieu (Open Lab) à dimension participative ouvert mettant en relation des partenaires publics/privés ?",
        themes: &[Mutation("numeriques")],
        holders: &[("Clément Seite", "responsable innovation du SITCAM, PACA")],
        facilitators: &["Carole Dolignon", "Florian Graveleau"],
    },
    SeedDefi {
        number: 19,
        site: "kehl",
        question: "Comment intégrer les jeunes migrants arrivés en Allemagne à la fin de leur scolarité ?",
        themes: &[Mutation("qualite"), Extra("Lutte contre les exclusions")],
        holders: &[("Annette Lipowsky", "Directrice de cabinet, Ville de Kehl")],
        facilitators: &["Anne Morisseau"],
    },
    SeedDefi {
        number: 20,
        site: "cluny",
        question: "Comment le sensible, la culture, peut rendre possible le développement de l'innovation d'un territoire, et comment passer de l'innovation à la pérennisation ?",
        themes: &[
            Mutation("democratie"),
            Mutation("qualite"),
            Mutation("cohesion"),
        ],
        holders: &[("Fazette Bordage", "Déléguée à la culture, Ville du Havre")],
        facilitators: &["Cécile Joly", "Dorothée Reischer"],
    },
];
