/**
 * Rekognition-style names for the 80 COCO classes of the local object detector, with the ancestors (Parents),
 * aliases and categories that Rekognition attaches to a label.
 *
 * NOTE: written by hand from the labels, parents and categories shown in Rekognition's documentation examples
 * (Person, Car, Vehicle, Transportation, Mobile Phone); Rekognition's full label list is a download that was not
 * available offline, so other names and ancestors are best guesses at its taxonomy, not copies of it.
 */
export interface LabelTaxonomyEntry {
  name: string;
  /** All ancestors, nearest first, as Rekognition lists them. */
  parents: string[];
  aliases: string[];
  categories: string[];
}

const ANIMALS = 'Animals and Pets';
const VEHICLES = 'Vehicles and Automotive';
const FOOD = 'Food and Beverage';
const FURNITURE = 'Furniture and Furnishings';
const TECHNOLOGY = 'Technology and Computing';
const KITCHEN = 'Kitchen and Dining';
const APPAREL = 'Apparel and Accessories';
const SPORTS = 'Sports';
const EVERYDAY = 'Everyday Objects';
const HOME = 'Home and Indoors';
const TRANSPORT = 'Transport and Logistics';

function entry(
  name: string,
  parents: string[],
  categories: string[],
  aliases: string[] = [],
): LabelTaxonomyEntry {
  return { name, parents, aliases, categories };
}

const VEHICLE_PARENTS = ['Vehicle', 'Transportation'];
const WILD_MAMMAL = ['Animal', 'Mammal', 'Wildlife'];
const FRUIT = ['Fruit', 'Food', 'Plant', 'Produce'];
const VEGETABLE = ['Vegetable', 'Food', 'Plant', 'Produce'];

/** Keyed by the class name the detector reports. */
export const COCO_LABELS: Readonly<Record<string, LabelTaxonomyEntry>> = {
  person: entry('Person', [], ['Person Description'], ['Human']),
  bicycle: entry('Bicycle', VEHICLE_PARENTS, [VEHICLES], ['Bike']),
  car: entry('Car', VEHICLE_PARENTS, [VEHICLES], ['Automobile']),
  motorcycle: entry('Motorcycle', VEHICLE_PARENTS, [VEHICLES], ['Motorbike']),
  airplane: entry('Airplane', ['Aircraft', ...VEHICLE_PARENTS], [VEHICLES], ['Aeroplane']),
  bus: entry('Bus', VEHICLE_PARENTS, [VEHICLES]),
  train: entry('Train', VEHICLE_PARENTS, [VEHICLES]),
  truck: entry('Truck', VEHICLE_PARENTS, [VEHICLES]),
  boat: entry('Boat', VEHICLE_PARENTS, [VEHICLES]),
  'traffic light': entry('Traffic Light', ['Light'], [TRANSPORT]),
  'fire hydrant': entry('Fire Hydrant', ['Hydrant'], ['Public Safety']),
  'stop sign': entry('Stop Sign', ['Road Sign', 'Sign', 'Symbol'], [TRANSPORT]),
  'parking meter': entry('Parking Meter', [], [TRANSPORT]),
  bench: entry('Bench', ['Furniture'], [FURNITURE]),
  bird: entry('Bird', ['Animal'], [ANIMALS]),
  cat: entry('Cat', ['Animal', 'Mammal', 'Pet'], [ANIMALS]),
  dog: entry('Dog', ['Animal', 'Canine', 'Mammal', 'Pet'], [ANIMALS]),
  horse: entry('Horse', ['Animal', 'Mammal'], [ANIMALS]),
  sheep: entry('Sheep', ['Animal', 'Livestock', 'Mammal'], [ANIMALS]),
  cow: entry('Cow', ['Animal', 'Cattle', 'Livestock', 'Mammal'], [ANIMALS]),
  elephant: entry('Elephant', WILD_MAMMAL, [ANIMALS]),
  bear: entry('Bear', WILD_MAMMAL, [ANIMALS]),
  zebra: entry('Zebra', WILD_MAMMAL, [ANIMALS]),
  giraffe: entry('Giraffe', WILD_MAMMAL, [ANIMALS]),
  backpack: entry('Backpack', ['Bag', 'Accessories'], [APPAREL]),
  umbrella: entry('Umbrella', [], [EVERYDAY]),
  handbag: entry('Handbag', ['Bag', 'Accessories'], [APPAREL]),
  tie: entry('Tie', ['Accessories', 'Formal Wear', 'Clothing'], [APPAREL], ['Necktie']),
  suitcase: entry('Suitcase', ['Baggage'], [TRANSPORT], ['Luggage']),
  frisbee: entry('Frisbee', ['Toy'], [SPORTS]),
  skis: entry('Ski', ['Sport'], [SPORTS]),
  snowboard: entry('Snowboard', ['Sport'], [SPORTS]),
  'sports ball': entry('Ball', ['Sport'], [SPORTS], ['Sports Ball']),
  kite: entry('Kite', ['Toy'], ['Toys and Gaming']),
  'baseball bat': entry('Baseball Bat', ['Baseball', 'Sport'], [SPORTS]),
  'baseball glove': entry('Baseball Glove', ['Glove', 'Clothing', 'Baseball', 'Sport'], [SPORTS]),
  skateboard: entry('Skateboard', ['Sport'], [SPORTS]),
  surfboard: entry('Surfboard', ['Water Sports', 'Sport'], [SPORTS]),
  'tennis racket': entry('Racket', ['Tennis', 'Sport'], [SPORTS], ['Tennis Racket']),
  bottle: entry('Bottle', [], [KITCHEN]),
  'wine glass': entry('Glass', [], [KITCHEN], ['Wine Glass', 'Goblet']),
  cup: entry('Cup', [], [KITCHEN]),
  fork: entry('Fork', ['Cutlery'], [KITCHEN]),
  knife: entry('Knife', ['Cutlery'], [KITCHEN]),
  spoon: entry('Spoon', ['Cutlery'], [KITCHEN]),
  bowl: entry('Bowl', [], [KITCHEN]),
  banana: entry('Banana', FRUIT, [FOOD]),
  apple: entry('Apple', FRUIT, [FOOD]),
  sandwich: entry('Sandwich', ['Meal', 'Food'], [FOOD]),
  orange: entry('Orange', ['Citrus Fruit', ...FRUIT], [FOOD]),
  broccoli: entry('Broccoli', VEGETABLE, [FOOD]),
  carrot: entry('Carrot', VEGETABLE, [FOOD]),
  'hot dog': entry('Hot Dog', ['Food'], [FOOD]),
  pizza: entry('Pizza', ['Food'], [FOOD]),
  donut: entry('Donut', ['Sweets', 'Food'], [FOOD], ['Doughnut']),
  cake: entry('Cake', ['Dessert', 'Food'], [FOOD]),
  chair: entry('Chair', ['Furniture'], [FURNITURE]),
  couch: entry('Couch', ['Furniture'], [FURNITURE], ['Sofa']),
  'potted plant': entry('Potted Plant', ['Plant'], ['Plants and Flowers']),
  bed: entry('Bed', ['Furniture'], [FURNITURE]),
  'dining table': entry('Dining Table', ['Table', 'Furniture'], [FURNITURE]),
  toilet: entry('Toilet', [], [HOME]),
  tv: entry('Television', ['Electronics', 'Screen'], [TECHNOLOGY], ['TV']),
  laptop: entry('Laptop', ['Computer', 'Electronics', 'Pc'], [TECHNOLOGY]),
  mouse: entry('Mouse', ['Computer Hardware', 'Electronics', 'Hardware'], [TECHNOLOGY], ['Computer Mouse']),
  remote: entry('Remote Control', ['Electronics'], [TECHNOLOGY]),
  keyboard: entry(
    'Computer Keyboard',
    ['Computer Hardware', 'Electronics', 'Hardware'],
    [TECHNOLOGY],
    ['Keyboard'],
  ),
  'cell phone': entry('Mobile Phone', ['Phone', 'Electronics'], [TECHNOLOGY], ['Cell Phone']),
  microwave: entry('Microwave', ['Appliance', 'Oven'], [KITCHEN]),
  oven: entry('Oven', ['Appliance'], [KITCHEN]),
  toaster: entry('Toaster', ['Appliance'], [KITCHEN]),
  sink: entry('Sink', [], [HOME]),
  refrigerator: entry('Refrigerator', ['Appliance'], [KITCHEN], ['Fridge']),
  book: entry('Book', ['Publication'], [EVERYDAY]),
  clock: entry('Clock', [], [EVERYDAY]),
  vase: entry('Vase', ['Jar', 'Pottery'], [HOME]),
  scissors: entry('Scissors', ['Blade', 'Weapon'], [EVERYDAY]),
  'teddy bear': entry('Teddy Bear', ['Toy'], ['Toys and Gaming']),
  'hair drier': entry('Hair Dryer', ['Appliance'], [HOME], ['Blow Dryer']),
  toothbrush: entry('Toothbrush', ['Brush', 'Tool'], [HOME]),
};

/**
 * Ancestors of the ancestor labels above, so that an emitted parent label (Vehicle, Mammal) carries its own Parents
 * as Rekognition's do. Ancestors not listed here have none.
 */
export const ANCESTOR_PARENTS: Readonly<Record<string, string[]>> = {
  Vehicle: ['Transportation'],
  Aircraft: ['Vehicle', 'Transportation'],
  Canine: ['Animal', 'Mammal'],
  Mammal: ['Animal'],
  Pet: ['Animal'],
  Livestock: ['Animal', 'Mammal'],
  Cattle: ['Animal', 'Livestock', 'Mammal'],
  Wildlife: ['Animal'],
  Fruit: ['Food', 'Plant', 'Produce'],
  'Citrus Fruit': ['Fruit', 'Food', 'Plant', 'Produce'],
  Vegetable: ['Food', 'Plant', 'Produce'],
  Produce: ['Food'],
  Meal: ['Food'],
  Sweets: ['Food'],
  Dessert: ['Food'],
  Table: ['Furniture'],
  Computer: ['Electronics'],
  'Computer Hardware': ['Electronics', 'Hardware'],
  Phone: ['Electronics'],
  Screen: ['Electronics'],
  Oven: ['Appliance'],
  'Road Sign': ['Sign', 'Symbol'],
  Sign: ['Symbol'],
  Bag: ['Accessories'],
  'Formal Wear': ['Clothing'],
  Glove: ['Clothing'],
  Baseball: ['Sport'],
  Tennis: ['Sport'],
  'Water Sports': ['Sport'],
};

/** The taxonomy entry of a detector class; classes outside the table keep their name, capitalised. */
export function taxonomyFor(className: string): LabelTaxonomyEntry {
  const known = COCO_LABELS[className];
  if (known !== undefined) return known;
  const name = className.replace(/\b\w/g, (letter) => letter.toUpperCase());
  return { name, parents: [], aliases: [], categories: [] };
}
